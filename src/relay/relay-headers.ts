// The headers a smart proxy's Foreman relay sends: every request header of the host (Rack's
// HTTP_* variables, so neither Host nor Content-Type/-Length), Accept prefixed with Foreman's
// API version, and a Content-Type of the relay's choosing (ForemanRequestFactory#add_headers).
import type { IncomingHttpHeaders } from 'node:http';

/**
 * Per-connection headers, and Accept-Encoding: Net::HTTP asks for gzip itself and inflates
 * the answer, and a relayed body must reach the host as Foreman wrote it, uncompressed.
 */
const NOT_RELAYED = new Set([
  'host',
  'content-type',
  'content-length',
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'accept-encoding',
]);

export function relayHeaders(incoming: IncomingHttpHeaders, contentType: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(incoming)) {
    if (v === undefined || NOT_RELAYED.has(k)) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  out.accept = out.accept ? `application/json,version=2, ${out.accept}` : 'application/json,version=2';
  out['content-type'] = contentType;
  return out;
}

