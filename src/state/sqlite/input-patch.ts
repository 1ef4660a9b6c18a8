// The jobs of one batch launch share most of their input (Foreman sends the same options for
// every host; the host's names differ). The SQLite spool keeps the first child's input on the
// parent row and each child's input as a JSON merge patch (RFC 7396) against it, which SQLite's
// json_patch() applies when the job is read: a job's launch row is well under half its old size.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const isObject = (v: unknown): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A merge patch that turns `base` into `target`, or undefined where none exists: RFC 7396 reads
 * a null member as "remove", so a null in `target` where `base` holds something else cannot be
 * written as a patch (the caller then stores `target` whole).
 */
export function mergePatchFrom(base: Record<string, unknown>, target: Record<string, unknown>): Record<string, Json> | undefined {
  const patch: Record<string, Json> = {};
  for (const key of Object.keys(base)) if (!Object.hasOwn(target, key)) patch[key] = null;
  for (const [key, value] of Object.entries(target)) {
    const was = Object.hasOwn(base, key) ? base[key] : undefined;
    if (value === null) {
      if (was === null) continue;
      return undefined;
    }
    if (isObject(value) && isObject(was)) {
      const inner = mergePatchFrom(was, value);
      if (inner === undefined) return undefined;
      if (Object.keys(inner).length > 0) patch[key] = inner;
      continue;
    }
    // An object replacing a non-object is merged into {} by the reader: it must hold no nulls.
    if (isObject(value) && mergePatchFrom({}, value) === undefined) return undefined;
    if (!sameJson(was, value)) patch[key] = value as Json;
  }
  return patch;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
