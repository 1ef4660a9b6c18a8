// Answers proxy-proxy composes itself, shaped exactly as the smart proxy's (Sinatra on WEBrick)
// so Foreman cannot tell: plain-text error bodies whose Content-Type follows Accept, the fixed
// security headers, `Server: foreman-proxy/<version>`.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

export const JSON_TYPE = 'application/json';
export const HTML_TYPE = 'text/html;charset=utf-8';
// Sinatra's `content_type :text` (a REX job script).
const TEXT_TYPE = 'text/plain;charset=utf-8';
const JSON_ACCEPTS = new Set(['application/json', 'application/*', '*/*']);

export interface NativeAnswer {
  status: number;
  contentType: 'json' | 'html' | 'text';
  body: string;
  extraHeaders?: Record<string, string>;
  /** Bytes sent as they are with their own Content-Type (a stored bzip2 report, a relayed template). */
  raw?: { contentType: string; body: Buffer };
}

/**
 * Error bodies are labelled JSON when Sinatra's `request.accept?('application/json')` holds: no
 * Accept header, or any entry (whatever its q) of application/json, application/* or `*\/*`.
 * Otherwise text/html (recorded behaviour).
 */
export function errorContentType(headers: IncomingHttpHeaders): 'json' | 'html' {
  const accept = headers.accept;
  if (accept === undefined || accept.trim() === '') return 'json';
  const json = accept.split(',').some((entry) => JSON_ACCEPTS.has(entry.split(';')[0].trim().toLowerCase()));
  return json ? 'json' : 'html';
}

export function errorAnswer(headers: IncomingHttpHeaders, status: number, message: string): NativeAnswer {
  return { status, contentType: errorContentType(headers), body: message };
}

export function notFoundAnswer(): NativeAnswer {
  return { status: 404, contentType: 'json', body: 'Requested url was not found', extraHeaders: { 'X-Cascade': 'pass' } };
}

/** Headers in the order WEBrick writes them for a Sinatra answer (X-Cascade comes first). */
export function writeNative(res: ServerResponse, answer: NativeAnswer, serverHeader: string, headOnly: boolean): void {
  const body = answer.raw ? answer.raw.body : Buffer.from(answer.body, 'utf8');
  // rack-protection's headers go with every HTML answer, raw bytes included.
  const html = answer.raw ? answer.raw.contentType.startsWith('text/html') : answer.contentType === 'html';
  const headers: Record<string, string | number> = { ...answer.extraHeaders };
  headers['Content-Type'] = answer.raw ? answer.raw.contentType : html ? HTML_TYPE : answer.contentType === 'text' ? TEXT_TYPE : JSON_TYPE;
  headers['Content-Length'] = body.length;
  if (html) headers['X-Xss-Protection'] = '1; mode=block';
  headers['X-Content-Type-Options'] = 'nosniff';
  if (html) headers['X-Frame-Options'] = 'SAMEORIGIN';
  headers['Server'] = serverHeader;
  res.writeHead(answer.status, headers);
  res.end(headOnly ? undefined : body);
}
