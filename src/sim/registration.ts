// /register: relays host registration to Foreman (SP modules/registration). Non-2xx answers
// keep their status; their body is passed on only when it is text/plain. Not gated.
import { Router, type Request, type Response } from 'express';
import type { SimContext } from './context.js';
import { foremanRequest, relayedHeaders } from './foreman-relay.js';
import { ok, reply, CT_HTML } from './headers.js';
import { wwwForm, type Params } from './params.js';
import { requestState } from './request-state.js';

const DEFAULT_ERROR = 'echo "Internal Server Error"\nexit 1\n';

function registerUrl(ctx: SimContext, req: Request): string {
  if (ctx.options.registrationUrl) return ctx.options.registrationUrl;
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return `${scheme}://${req.headers.host ?? ctx.options.host}`;
}

export function registrationRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });

  async function forward(req: Request, res: Response, method: 'GET' | 'POST'): Promise<void> {
    const st = requestState(res);
    const headers = relayedHeaders(req.headers);
    let query: Params;
    let body: Buffer | undefined;
    const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim();
    if (method === 'POST' && contentType === 'application/x-www-form-urlencoded') {
      // The form stays in the body; only url goes into the query.
      query = new Map([['url', registerUrl(ctx, req)]]);
      headers['Content-Type'] = contentType;
      body = st.rawBody;
    } else {
      query = new Map(st.params);
      query.set('url', registerUrl(ctx, req));
      if (method === 'POST') {
        headers['Content-Type'] = 'application/json';
        body = st.rawBody;
      }
    }
    try {
      const answer = await foremanRequest(ctx, method, `/register?${wwwForm(query)}`, headers, body);
      if (answer.status >= 200 && answer.status < 300) return ok(res, answer.body);
      const textPlain = (answer.headers['content-type'] ?? '').includes('text/plain');
      reply(res, answer.status, CT_HTML, textPlain ? answer.body : DEFAULT_ERROR);
    } catch (err) {
      st.log('ERROR', `Error when rendering Registration Template: ${(err as Error).message}`);
      reply(res, 500, CT_HTML, DEFAULT_ERROR);
    }
  }

  r.get('/', (req, res) => forward(req, res, 'GET'));
  r.post('/', (req, res) => forward(req, res, 'POST'));
  return r;
}
