// Writing answers exactly as the recorded proxy (WEBrick + Sinatra + Rack::Protection) did:
// fixed Content-Type strings, Content-Length always, nosniff + Server everywhere, the XSS and
// frame headers only on text/html, and error labels that follow the Accept header.
import type { Request, Response } from 'express';
import { requestState } from './request-state.js';

export const CT_HTML = 'text/html;charset=utf-8';
export const CT_JSON = 'application/json';

export interface ReplyExtras {
  /** Sinatra's not-found marker. */
  cascade?: boolean;
  headers?: Record<string, string>;
}

export function reply(
  res: Response,
  status: number,
  contentType: string | null,
  body: string | Buffer,
  extras: ReplyExtras = {},
): void {
  if (res.headersSent) return;
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const html = contentType !== null && contentType.startsWith('text/html');
  res.statusCode = status;
  if (extras.cascade) res.setHeader('X-Cascade', 'pass');
  for (const [k, v] of Object.entries(extras.headers ?? {})) res.setHeader(k, v);
  if (contentType !== null) res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', String(buf.length));
  if (html) res.setHeader('X-Xss-Protection', '1; mode=block');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  if (html) res.setHeader('X-Frame-Options', 'SAMEORIGIN');
  res.setHeader('Server', res.app.locals.serverHeader as string);
  // Node drops the body of a HEAD answer itself and keeps our Content-Length.
  res.end(buf);
}

/** A 200 with Sinatra's default label unless the route set another. */
export function ok(res: Response, body: string | Buffer = '', contentType: string = CT_HTML): void {
  reply(res, 200, contentType, body);
}

export function okJson(res: Response, value: unknown): void {
  reply(res, 200, CT_JSON, JSON.stringify(value));
}

/**
 * Sinatra's request.accept?('application/json'): true without an Accept header, or when an
 * entry is application/json, application/* or * / * (a q value does not matter).
 */
export function acceptsJson(req: Request): boolean {
  const accept = req.headers.accept;
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((entry) => {
    const type = entry.split(';')[0].trim().toLowerCase();
    return type === 'application/json' || type === 'application/*' || type === '*/*';
  });
}

export interface HaltOptions {
  /** The route set `content_type :json` before failing, so the label no longer follows Accept. */
  json?: boolean;
}

/** SP's log_halt: a plain-text message, logged as an error, labelled by Accept. */
export function halt(req: Request, res: Response, status: number, message: string, opts: HaltOptions = {}): void {
  requestState(res)?.log('ERROR', message);
  reply(res, status, opts.json || acceptsJson(req) ? CT_JSON : CT_HTML, message);
}

export function notFound(res: Response): void {
  reply(res, 404, CT_JSON, 'Requested url was not found', { cascade: true });
}
