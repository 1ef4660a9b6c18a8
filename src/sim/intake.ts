// First stop of every API request: collapse `//`, read the body, log the call, parse
// parameters (only form bodies count, as in Rack), set up the request log, apply faults.
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { RequestHandler } from 'express';
import type { SimContext } from './context.js';
import type { CallLog, Faults } from './faults.js';
import { acceptsJson, notFound, reply, CT_HTML, CT_JSON } from './headers.js';
import { parseParams, type Params } from './params.js';
import { RateLimit } from './rate-limit.js';
import type { RequestState } from './request-state.js';

const MAX_BODY = 64 * 1024 * 1024;

function clientCert(socket: unknown): { presented: boolean; cn?: string } {
  const tls = socket as Partial<TLSSocket>;
  if (!tls.encrypted || typeof tls.getPeerCertificate !== 'function') return { presented: false };
  const cert = tls.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return { presented: false };
  const cn = cert.subject?.CN;
  return { presented: true, cn: Array.isArray(cn) ? cn[0] : cn };
}

/** Rack reads a form body when it says so, or for a POST that names no type at all. */
function isFormBody(method: string, contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded' || (method === 'POST' && type === '');
}

export function intake(ctx: SimContext, calls: CallLog, faults: Faults): RequestHandler {
  const limit = ctx.options.rateLimit === undefined ? undefined : new RateLimit(ctx.options.rateLimit);
  return (req, res, next) => {
    const arrived = Date.now();
    const q = req.url.indexOf('?');
    const rawPath = q >= 0 ? req.url.slice(0, q) : req.url;
    const rawQuery = q >= 0 ? req.url.slice(q + 1) : '';
    // Double slashes are collapsed before routing; a trailing slash stays significant.
    req.url = rawPath.replace(/\/{2,}/g, '/') + (q >= 0 ? '?' + rawQuery : '');
    req.originalUrl = req.url;

    const call = { method: req.method, path: rawPath, query: rawQuery, headers: { ...req.headers }, body: '', at: arrived };
    calls.push(call);

    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on('error', next);
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks);
      call.body = rawBody.toString('utf8');

      const query = parseParams(rawQuery);
      const form: Params = isFormBody(req.method, req.headers['content-type']) ? parseParams(rawBody.toString('utf8')) : new Map();
      const params: Params = new Map(query);
      for (const [k, v] of form) params.set(k, v);
      const headerId = req.headers['x-request-id'];
      const requestId = typeof headerId === 'string' && headerId !== '' ? headerId : randomBytes(4).toString('hex');
      const cert = clientCert(req.socket);
      const state: RequestState = {
        requestId,
        startedMs: performance.now(),
        remoteAddr: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''),
        https: Boolean((req.socket as Partial<TLSSocket>).encrypted),
        clientCn: cert.cn,
        clientCertPresented: cert.presented,
        query,
        form,
        params,
        rawBody,
        log: (level, message) => ctx.logs.push(level, message, requestId),
      };
      res.locals.sim = state;
      state.log('INFO', `Started ${req.method} ${rawPath} ${rawQuery}`);
      res.on('finish', () => {
        const ms = (performance.now() - state.startedMs).toFixed(2);
        state.log('INFO', `Finished ${req.method} ${rawPath} with ${res.statusCode} (${ms} ms)`);
      });

      const delay = faults.state.delay_ms;
      if (delay > 0) {
        const end = res.end.bind(res) as (...args: unknown[]) => typeof res;
        res.end = ((...args: unknown[]) => {
          setTimeout(() => end(...args), delay);
          return res;
        }) as typeof res.end;
      }

      const serve = () => {
        const decision = faults.decide(req.method, rawPath);
        if (decision.kind === 'hang') return; // the socket stays open, unanswered
        if (decision.kind === 'reset') return void req.socket.destroy();
        if (decision.kind === 'apply_then_hang') {
          // The module runs and changes state; its answer is swallowed.
          res.end = (() => res) as unknown as typeof res.end;
          return next();
        }
        if (decision.kind === 'fail') {
          state.log('ERROR', `Injected failure ${decision.status}`);
          return reply(res, decision.status, acceptsJson(req) ? CT_JSON : CT_HTML, decision.body);
        }
        // No SP module has OPTIONS routes; keep Express from answering them with an Allow list.
        if (req.method === 'OPTIONS') return notFound(res);
        next();
      };
      // --rate-limit: the request waits for its slot before anything is done with it.
      const wait = limit?.take() ?? 0;
      if (wait > 0) setTimeout(serve, wait);
      else serve();
    });
  };
}
