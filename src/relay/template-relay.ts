// Templates relayed to Foreman by proxy-proxy itself, as the smart proxy's templates module
// does: the host's request goes to foreman_url with its parameters (less the route's own),
// `url` set to the advertised template_url, the host's headers, and X-Forwarded-For set to the
// host's address (the smart proxy's REMOTE_ADDR). Foreman's 200 and 201 reach the host as 200;
// anything else becomes the smart proxy's error. See docs/host-identity.md.
import type { IncomingCall, LocalAnswer, LocalContext } from '../features/route.js';
import { settingText } from '../features/setting-value.js';
import { ForemanUnreachable } from './foreman-client.js';
import { relayHeaders } from './relay-headers.js';
import { cgiEscape, netHttpClass, queryString, rubyHash, type RubyParams } from './ruby-words.js';
import { sinatraParams } from './sinatra-params.js';

/** Route parameters the smart proxy does not pass on (Proxy::Templates::ProxyRequest). */
const NOT_PASSED_ON = ['path', 'template', 'kind', 'hostgroup', 'splat', 'captures'];

/** Foreman answered, but not with 200 or 201 (smart-proxy Proxy::Error::HttpError). */
class ForemanRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** One relayed request; resolves with Foreman's body, throws ForemanRefused or ForemanUnreachable. */
async function relay(call: IncomingCall, ctx: LocalContext, segments: string[], params: RubyParams): Promise<Buffer> {
  if (!ctx.foreman) throw new ForemanUnreachable('missing :foreman_url: from configuration.');
  const opts: RubyParams = new Map(params);
  opts.set('url', settingText(ctx, 'template_url') ?? null);
  for (const key of NOT_PASSED_ON) opts.delete(key);
  // Hostgroup names carry spaces: each segment is CGI-escaped ('+' for a space).
  const path = segments.map(cgiEscape).join('/');
  const headers = relayHeaders(call.headers, params.get('Content-Type') ?? 'application/json');
  // Whatever the host claims, Foreman is told the address the request came from.
  headers['x-forwarded-for'] = ctx.client.address;
  const answer = await ctx.foreman.send({
    method: call.method === 'POST' ? 'POST' : 'GET',
    path,
    query: queryString(opts),
    headers,
    body: call.method === 'POST' ? call.body : undefined,
    signal: ctx.deadline,
  });
  if (answer.status !== 200 && answer.status !== 201) {
    const why = `Error retrieving ${path} for ${rubyHash(opts)} from ${ctx.foreman.host}: ${netHttpClass(answer.status)}`;
    // HttpError#to_s appends the status and the (absent) response body.
    throw new ForemanRefused(answer.status, `${why}: ${answer.status} `);
  }
  return answer.body;
}

function failure(err: unknown, prefix: string, status?: number): LocalAnswer {
  if (!(err instanceof ForemanRefused) && !(err instanceof ForemanUnreachable)) throw err;
  const code = status ?? (err instanceof ForemanRefused ? err.status : 400);
  return { status: code, contentType: 'error', body: prefix + err.message, problem: err.message };
}

function success(body: Buffer): LocalAnswer {
  // Sinatra labels a string body text/html whatever Foreman sent, and a 201 (built) becomes 200.
  return { status: 200, contentType: 'html', body };
}

/** GET /unattended/:kind and GET /unattended/:kind/:template/:hostgroup. */
export async function unattendedGet(call: IncomingCall, ctx: LocalContext): Promise<LocalAnswer> {
  const hostgroup = call.params.hostgroup !== undefined;
  const captures = hostgroup ? ['kind', 'template', 'hostgroup'] : ['kind'];
  const params = sinatraParams(call, captures);
  const kind = call.params.kind!;
  const prefix = hostgroup
    ? `Failed to retrieve ${kind} hostgroup template for ${rubyHash(params)}: `
    : `Failed to proxy /${kind} for ${rubyHash(params)}: `;
  try {
    return success(await relay(call, ctx, ['unattended', ...captures.map((c) => call.params[c]!)], params));
  } catch (err) {
    return failure(err, prefix);
  }
}

/** POST /unattended/:kind (reports such as built and failed, with the host's body as text/plain). */
export async function unattendedPost(call: IncomingCall, ctx: LocalContext): Promise<LocalAnswer> {
  const params = sinatraParams(call, ['kind']);
  const kind = call.params.kind!;
  const prefix = `Failed to proxy /${kind} for ${rubyHash(params)}: `;
  // The smart proxy records the body type as a parameter, so Foreman also sees it in the query.
  params.set('Content-Type', 'text/plain');
  try {
    return success(await relay(call, ctx, ['unattended', kind], params));
  } catch (err) {
    return failure(err, prefix);
  }
}

/** GET /userdata/:kind (cloud-init); every failure is a 500. */
export async function userdataGet(call: IncomingCall, ctx: LocalContext): Promise<LocalAnswer> {
  const params = sinatraParams(call, ['kind']);
  const kind = call.params.kind!;
  const prefix = `Failed to retrieve ${kind} userdata template for ${rubyHash(params)}: `;
  try {
    return success(await relay(call, ctx, ['userdata', kind], params));
  } catch (err) {
    return failure(err, prefix, 500);
  }
}

/** GET /unattended/templateServer: where Foreman should send hosts for templates. */
export function templateServer(ctx: LocalContext): LocalAnswer {
  return { status: 200, contentType: 'json', body: JSON.stringify({ templateServer: settingText(ctx, 'template_url') ?? '' }) };
}
