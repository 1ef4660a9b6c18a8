// Requests from the simulator to --foreman-url, with failures worded like Ruby's Net::HTTP
// (SP's ForemanRequest), since the relays put those texts into their error answers.
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { SimContext } from './context.js';

export interface UpstreamResponse {
  status: number;
  reason: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The request never produced an HTTP answer; the message is Ruby's. */
export class UpstreamError extends Error {}

const TIMEOUT_MS = 60_000;

const NET_HTTP_CLASS: Record<number, string> = {
  100: 'HTTPContinue', 101: 'HTTPSwitchProtocol', 200: 'HTTPOK', 201: 'HTTPCreated', 202: 'HTTPAccepted',
  203: 'HTTPNonAuthoritativeInformation', 204: 'HTTPNoContent', 205: 'HTTPResetContent', 206: 'HTTPPartialContent',
  300: 'HTTPMultipleChoices', 301: 'HTTPMovedPermanently', 302: 'HTTPFound', 303: 'HTTPSeeOther',
  304: 'HTTPNotModified', 305: 'HTTPUseProxy', 307: 'HTTPTemporaryRedirect', 308: 'HTTPPermanentRedirect',
  400: 'HTTPBadRequest', 401: 'HTTPUnauthorized', 402: 'HTTPPaymentRequired', 403: 'HTTPForbidden',
  404: 'HTTPNotFound', 405: 'HTTPMethodNotAllowed', 406: 'HTTPNotAcceptable', 407: 'HTTPProxyAuthenticationRequired',
  408: 'HTTPRequestTimeout', 409: 'HTTPConflict', 410: 'HTTPGone', 411: 'HTTPLengthRequired',
  412: 'HTTPPreconditionFailed', 413: 'HTTPPayloadTooLarge', 414: 'HTTPURITooLong', 415: 'HTTPUnsupportedMediaType',
  416: 'HTTPRangeNotSatisfiable', 417: 'HTTPExpectationFailed', 421: 'HTTPMisdirectedRequest',
  422: 'HTTPUnprocessableEntity', 423: 'HTTPLocked', 424: 'HTTPFailedDependency', 426: 'HTTPUpgradeRequired',
  428: 'HTTPPreconditionRequired', 429: 'HTTPTooManyRequests', 431: 'HTTPRequestHeaderFieldsTooLarge',
  451: 'HTTPUnavailableForLegalReasons', 500: 'HTTPInternalServerError', 501: 'HTTPNotImplemented',
  502: 'HTTPBadGateway', 503: 'HTTPServiceUnavailable', 504: 'HTTPGatewayTimeout', 505: 'HTTPVersionNotSupported',
  506: 'HTTPVariantAlsoNegotiates', 507: 'HTTPInsufficientStorage', 508: 'HTTPLoopDetected',
  510: 'HTTPNotExtended', 511: 'HTTPNetworkAuthenticationRequired',
};

/** The Net::HTTPResponse subclass Ruby picks for a status code. */
export function netHttpClass(status: number): string {
  const known = NET_HTTP_CLASS[status];
  if (known) return `Net::${known}`;
  const family = ['HTTPUnknownResponse', 'HTTPInformation', 'HTTPSuccess', 'HTTPRedirection', 'HTTPClientError', 'HTTPServerError'];
  return `Net::${family[Math.floor(status / 100)] ?? 'HTTPUnknownResponse'}`;
}

function rubyConnectError(err: NodeJS.ErrnoException, host: string, port: string): string {
  const where = `${host}:${port}`;
  const open = (why: string) => `Failed to open TCP connection to ${where} (${why})`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return open(`Connection refused - connect(2) for ${where}`);
    case 'EHOSTUNREACH':
      return open(`No route to host - connect(2) for ${where}`);
    case 'ENETUNREACH':
      return open(`Network is unreachable - connect(2) for ${where}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return open('getaddrinfo: Name or service not known');
    case 'ECONNRESET':
      return 'Connection reset by peer';
    case 'ETIMEDOUT':
      return open('execution expired');
    default:
      return err.message;
  }
}

/** One request to Foreman; `pathAndQuery` is sent as is (the relays escape it themselves). */
export function foremanRequest(
  ctx: SimContext,
  method: string,
  pathAndQuery: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<UpstreamResponse> {
  const base = ctx.options.foremanUrl;
  if (!base) return Promise.reject(new UpstreamError('foreman_url is not configured'));
  const url = new URL(base);
  const secure = url.protocol === 'https:';
  const port = url.port || (secure ? '443' : '80');
  const o = ctx.options;
  const tlsOptions = secure
    ? {
        ca: o.sslCaFile ? readFileSync(o.sslCaFile) : undefined,
        cert: o.sslCertificate ? readFileSync(o.sslCertificate) : undefined,
        key: o.sslPrivateKey ? readFileSync(o.sslPrivateKey) : undefined,
      }
    : {};
  const sendHeaders: Record<string, string> = { ...headers };
  if (body !== undefined) sendHeaders['Content-Length'] = String(body.length);
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port,
        method,
        path: pathAndQuery,
        headers: sendHeaders,
        agent: false,
        ...tlsOptions,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (err) => reject(new UpstreamError(err.message)));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.setTimeout(TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => reject(new UpstreamError(rubyConnectError(err, url.hostname, port))));
    req.end(body);
  });
}

/** Request headers passed on to Foreman, like SP's extract_request_headers (HTTP_* minus Host). */
export function relayedHeaders(incoming: IncomingHttpHeaders): Record<string, string> {
  const skip = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'content-type', 'keep-alive', 'x-forwarded-for']);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(incoming)) {
    if (skip.has(k) || v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}
