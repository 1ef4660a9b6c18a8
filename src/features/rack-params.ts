// Request parameters as the smart proxy's Sinatra handlers see them in `params`: the query
// string (Rack 2.2 splits it on '&' and ';') merged with a form-encoded body ('&' only), the
// body winning, the last of repeated keys winning, and a key without '=' meaning nil. Only
// form bodies count: a JSON body is never read, as recorded. Validators use this view so they
// judge exactly the values the backend would judge.
import type { IncomingCall } from './route.js';

/** A parameter Rack turns into an array or hash (`mac[]=`, `fqdn[x]=`): never judged here. */
export const NESTED: unique symbol = Symbol('nested');

/** `undefined` is Ruby's nil: absent, or given without '='. */
export type ParamValue = string | undefined | typeof NESTED;

export class RackParams {
  constructor(private readonly values: ReadonlyMap<string, string | undefined | typeof NESTED>) {}

  get(name: string): ParamValue {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
}

/**
 * The merged parameters, or undefined when Rack would refuse to parse them (an invalid
 * %-escape, text that is not UTF-8): then no validator can be sure of anything.
 */
export function rackParams(call: IncomingCall): RackParams | undefined {
  const values = new Map<string, string | undefined | typeof NESTED>();
  if (!parseInto(values, call.rawQuery, /[&;] */)) return undefined;
  // The request handler fills `form` only for application/x-www-form-urlencoded bodies; the
  // raw body is re-read because URLSearchParams cannot tell `a` from `a=`.
  if (!call.form.keys().next().done && !parseInto(values, call.body.toString('latin1'), /& */)) return undefined;
  return new RackParams(values);
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function parseInto(values: Map<string, string | undefined | typeof NESTED>, text: string, sep: RegExp): boolean {
  if (text === '') return true;
  for (const piece of text.split(sep)) {
    if (piece === '') continue;
    const eq = piece.indexOf('=');
    const rawKey = eq === -1 ? piece : piece.slice(0, eq);
    const key = unescape(rawKey);
    const value = eq === -1 ? undefined : unescape(piece.slice(eq + 1));
    if (key === null || value === null) return false;
    // Rack's normalize_params: leading brackets are dropped, the name runs to the next bracket.
    const m = /^[[\]]*([^[\]]+)\]*/.exec(key);
    if (!m) continue;
    const name = m[1]!;
    const rest = key.slice(m[0].length);
    values.set(name, rest === '' ? value : NESTED);
  }
  return true;
}

/** URI.decode_www_form_component over a latin1 byte string; null where Rack would raise. */
function unescape(s: string): string | null {
  if (/%(?![0-9A-Fa-f]{2})/.test(s)) return null;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) bytes.push(0x20);
    else if (c === 0x25) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c > 0xff) return null;
    else bytes.push(c);
  }
  try {
    return UTF8.decode(Uint8Array.from(bytes));
  } catch {
    return null;
  }
}
