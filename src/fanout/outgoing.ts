// Builds the requests sent to backends: the client's own request, passed through with its
// end-to-end headers, or a request proxy-proxy makes itself (snapshot, restore, confirm).
import type { BackendCall, IncomingCall } from '../features/route.js';
import type { OutgoingRequest } from '../backends/backend.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
]);

/** End-to-end headers of the client's request, with request ids and X-Forwarded-For set. */
export function forwardHeaders(call: IncomingCall, requestId: string, clientAddress: string): Record<string, string> {
  const out: Record<string, string> = {};
  const headers = call.headers;
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined || HOP_BY_HOP.has(k)) continue;
    out[k] = typeof v === 'string' ? v : v.join(', ');
  }
  out['x-request-id'] = requestId;
  const xff = out['x-forwarded-for'];
  out['x-forwarded-for'] = xff ? `${xff}, ${clientAddress}` : clientAddress;
  return out;
}

export function passThrough(call: IncomingCall, headers: Record<string, string>, methodOverridden: boolean): OutgoingRequest {
  const path = call.rawQuery ? `${call.path}?${call.rawQuery}` : call.path;
  if (methodOverridden) {
    // `_method=DELETE` arrives as a form POST; backends get a plain DELETE.
    const { 'content-type': _ct, ...rest } = headers;
    return { method: call.method, path, headers: rest };
  }
  const hasBody = call.body.length > 0 && call.method !== 'GET';
  return { method: call.method, path, headers, body: hasBody ? call.body : undefined };
}

/** Requests proxy-proxy makes itself carry only what identifies them and what SP reads. */
export function ownRequest(call: BackendCall, requestId: string): OutgoingRequest {
  const path = call.query ? `${call.path}?${call.query}` : call.path;
  const headers: Record<string, string> = { accept: 'application/json', 'x-request-id': requestId };
  if (call.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    return { method: call.method, path, headers, body: call.form.toString() };
  }
  return { method: call.method, path, headers };
}

const RESPONSE_SKIP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);

/** Names already spelled, by lower-case name: backends send the same few on every answer. */
const spelled = new Map<string, string>();

/** A header name as WEBrick writes every one: each word capitalised, WWW and TE in capitals. */
function webrickName(name: string): string {
  let out = spelled.get(name);
  if (out === undefined) {
    out = name.replace(/\bwww|^te$|\b\w/g, (m) => m.toUpperCase());
    // Bounded: a backend sending ever new names must not grow it without end.
    if (spelled.size < 1000) spelled.set(name, out);
  }
  return out;
}

/**
 * Backend response headers passed back to the client: per-connection ones dropped, names
 * spelled as a smart proxy's WEBrick writes them (undici hands them over lower-cased), order
 * kept, and Content-Length in its place with the length of the body actually sent.
 */
export function responseHeaders(headers: Record<string, string>, bodyLength: number): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const k in headers) if (!RESPONSE_SKIP.has(k)) out[webrickName(k)] = headers[k]!;
  // Keeps the backend's position when it sent one.
  out['Content-Length'] = bodyLength;
  return out;
}
