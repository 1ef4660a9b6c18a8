// Answers proxy-proxy composes itself, shaped exactly as the smart proxy's (Sinatra on WEBrick)
// so Foreman cannot tell: plain-text error bodies whose Content-Type follows Accept, the fixed
// security headers, `Server: foreman-proxy/<version>`.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';

const JSON_TYPE = 'application/json';
const HTML_TYPE = 'text/html;charset=utf-8';

export interface NativeAnswer {
  status: number;
  contentType: 'json' | 'html';
  body: string;
  extraHeaders?: Record<string, string>;
}

/**
 * Error bodies are labelled JSON when Accept is missing, names application/json, or has any
 * `*\/*` entry; otherwise text/html (recorded behaviour of Sinatra's content negotiation).
 */
export function errorContentType(headers: IncomingHttpHeaders): 'json' | 'html' {
  const accept = headers.accept;
  if (accept === undefined || accept.trim() === '') return 'json';
  if (accept.includes('application/json')) return 'json';
  if (accept.split(',').some((part) => part.trim().startsWith('*/*'))) return 'json';
  return 'html';
}

export function errorAnswer(headers: IncomingHttpHeaders, status: number, message: string): NativeAnswer {
  return { status, contentType: errorContentType(headers), body: message };
}

export function notFoundAnswer(): NativeAnswer {
  return { status: 404, contentType: 'json', body: 'Requested url was not found', extraHeaders: { 'X-Cascade': 'pass' } };
}

export function writeNative(res: ServerResponse, answer: NativeAnswer, serverHeader: string, headOnly: boolean): void {
  const body = Buffer.from(answer.body, 'utf8');
  const headers: Record<string, string | number> = {
    'Content-Type': answer.contentType === 'json' ? JSON_TYPE : HTML_TYPE,
    'Content-Length': body.length,
  };
  if (answer.contentType === 'html') {
    headers['X-Xss-Protection'] = '1; mode=block';
    headers['X-Frame-Options'] = 'SAMEORIGIN';
  }
  headers['X-Content-Type-Options'] = 'nosniff';
  headers['Server'] = serverHeader;
  Object.assign(headers, answer.extraHeaders);
  res.writeHead(answer.status, headers);
  res.end(headOnly ? undefined : body);
}
