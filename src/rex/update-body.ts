// Host updates (POST /ssh/jobs/:uuid/update, docs/protocol/rex-pull.md §3): the v1 batch
// foreman_ygg_worker sends, {"version":"1","updates":[…]}, and the legacy unversioned {"output","type","exit_code"}.
// Unlike the smart proxy, which answers 200 and then fails the job with "Proxy error", a body
// proxy-proxy cannot use is refused (400) and nothing of it is stored.
import type { HostUpdate } from '../state/job-store.js';

export type ParsedUpdate = { updates: HostUpdate[] } | { error: string };

type Mapping = Record<string, unknown>;

function mapping(value: unknown): Mapping | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Mapping) : undefined;
}

export function parseUpdate(body: Buffer): ParsedUpdate {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { error: `update body is not valid JSON: ${(err as Error).message}` };
  }
  const update = mapping(doc);
  if (!update) return { error: 'update body must be a JSON object' };
  if (update.version === undefined) return legacy(update);
  if (update.version !== '1' && update.version !== 1) return { error: `unsupported update version ${JSON.stringify(update.version)} (1 is known)` };
  if (!Array.isArray(update.updates)) return { error: "'updates' must be an array" };
  const out: HostUpdate[] = [];
  for (const [i, raw] of update.updates.entries()) {
    const u = mapping(raw);
    if (!u) return { error: `updates[${i}] must be an object` };
    const atUs = timestamp(u.timestamp);
    if (atUs === null) return { error: `updates[${i}].timestamp is not an ISO 8601 time` };
    if (u.type === 'output') {
      if (typeof u.content !== 'string') return { error: `updates[${i}].content must be a string` };
      if (u.stream !== undefined && typeof u.stream !== 'string') return { error: `updates[${i}].stream must be a string` };
      out.push({ kind: 'output', stream: typeof u.stream === 'string' && u.stream !== '' ? u.stream : 'stdout', content: u.content, ...(atUs === undefined ? {} : { atUs }) });
    } else if (u.type === 'exit') {
      const code = exitCode(u.exit_code);
      if (code === undefined) return { error: `updates[${i}].exit_code must be an integer` };
      // An exit without a timestamp is accepted (the smart proxy fails the job on it): it gets the receipt time.
      out.push({ kind: 'exit', code, ...(atUs === undefined ? {} : { atUs }) });
    } else {
      return { error: `updates[${i}].type must be 'output' or 'exit'` };
    }
  }
  return { updates: out };
}

/** {"output": "<text>" | ["line", …], "type": "stdout", "exit_code": <int>}, timed on receipt. */
function legacy(update: Mapping): ParsedUpdate {
  const out: HostUpdate[] = [];
  const stream = update.type === undefined || update.type === null ? 'stdout' : update.type;
  if (typeof stream !== 'string') return { error: "'type' must be a string" };
  if (update.output !== undefined && update.output !== null) {
    const lines = Array.isArray(update.output) ? update.output : [update.output];
    for (const [i, line] of lines.entries()) {
      if (typeof line !== 'string') return { error: Array.isArray(update.output) ? `output[${i}] must be a string` : "'output' must be a string or a list of strings" };
      out.push({ kind: 'output', stream, content: line });
    }
  }
  if (update.exit_code !== undefined && update.exit_code !== null) {
    const code = exitCode(update.exit_code);
    if (code === undefined) return { error: "'exit_code' must be an integer" };
    out.push({ kind: 'exit', code });
  }
  return { updates: out };
}

/** Epoch microseconds; undefined when absent; null when present but not a time. */
function timestamp(value: unknown): number | undefined | null {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms * 1000 : null;
}

/** An integer, or a string holding one (the proxy calls to_i on what it gets). */
function exitCode(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\s*-?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return undefined;
}
