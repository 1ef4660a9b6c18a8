// Host registration relayed to Foreman by proxy-proxy itself, as the smart proxy's
// registration module does: GET /register (the global registration script) and POST /register
// (the host registers) go to foreman_url/register with `url` set to registration_url (else the
// URL the host used), and the host's headers, Authorization included. X-Forwarded-For carries
// the host's address on to Foreman (docs/host-identity.md).
import type { IncomingCall, LocalAnswer, LocalContext } from '../features/route.js';
import { settingText } from '../features/setting-value.js';
import type { ForemanAnswer } from './foreman-client.js';
import { relayHeaders } from './relay-headers.js';
import { queryString } from './ruby-words.js';
import { requestParams } from './sinatra-params.js';

/** The smart proxy's answer to every failure it does not pass on: a script that fails. */
export const REGISTRATION_FAILED = 'echo "Internal Server Error"\nexit 1\n';
const FORM = 'application/x-www-form-urlencoded';

/** registration_url (one trailing '/' dropped), else the base of the URL the host asked. */
function registerUrl(call: IncomingCall, ctx: LocalContext): string {
  const configured = settingText(ctx, 'registration_url');
  if (configured !== undefined) return configured.endsWith('/') ? configured.slice(0, -1) : configured;
  const host = call.headers.host ?? ctx.client.serverName;
  return `${ctx.client.scheme}://${host}`;
}

function request(call: IncomingCall, ctx: LocalContext) {
  const url = registerUrl(call, ctx);
  const seen = call.headers['x-forwarded-for'];
  const forwardedFor = seen ? `${Array.isArray(seen) ? seen.join(', ') : seen}, ${ctx.client.address}` : ctx.client.address;
  // Only an exact form type keeps the form in the body with nothing but url in the query.
  if (call.method === 'POST' && call.headers['content-type'] === FORM) {
    const headers = { ...relayHeaders(call.headers, FORM), 'x-forwarded-for': forwardedFor };
    return { method: 'POST' as const, path: '/register', query: queryString([['url', url]]), headers, body: call.body };
  }
  // Otherwise the parameters go into the query with url after them (Rack's hash and a second,
  // symbol key: a `url` the host sent stays as well) and a POST body is JSON.
  const query = queryString([...requestParams(call), ['url', url]]);
  const headers = { ...relayHeaders(call.headers, 'application/json'), 'x-forwarded-for': forwardedFor };
  return { method: call.method === 'POST' ? ('POST' as const) : ('GET' as const), path: '/register', query, headers, body: call.method === 'POST' ? call.body : undefined };
}

/** Registration::Api#handle_response: any 2xx is the script; an error's body only when it is text/plain. */
function answerFrom(foreman: ForemanAnswer): LocalAnswer {
  if (foreman.status >= 200 && foreman.status < 300) return { status: 200, contentType: 'html', body: foreman.body };
  const type = foreman.headers['content-type'];
  // Without a Content-Type the smart proxy fails on it and answers its generic 500.
  if (type === undefined) return { status: 500, contentType: 'html', body: REGISTRATION_FAILED, problem: `Foreman answered ${foreman.status} without a Content-Type` };
  const body = type.includes('text/plain') ? foreman.body : REGISTRATION_FAILED;
  return { status: foreman.status, contentType: 'html', body, problem: `Foreman answered ${foreman.status}` };
}

/** GET and POST /register. */
export async function register(call: IncomingCall, ctx: LocalContext): Promise<LocalAnswer> {
  if (!ctx.foreman) return { status: 500, contentType: 'html', body: REGISTRATION_FAILED, problem: 'foreman_url is not configured' };
  try {
    return answerFrom(await ctx.foreman.send({ ...request(call, ctx), signal: ctx.deadline }));
  } catch (err) {
    return { status: 500, contentType: 'html', body: REGISTRATION_FAILED, problem: (err as Error).message };
  }
}
