// Conversions between what travels on the wire and what the state store keeps.
import type { OutgoingRequest } from '../backends/backend.js';
import type { BackendAnswer, BackendCall } from '../features/route.js';
import type { StoredAnswer, StoredRequest } from '../state/store.js';

/** Headers a replayed request needs; everything else belonged to the original connection. */
const KEPT_HEADERS = ['content-type', 'accept', 'authorization', 'x-request-id', 'x-session-id'];

export function storeRequest(req: OutgoingRequest): StoredRequest {
  const q = req.path.indexOf('?');
  const headers: Record<string, string> = {};
  for (const h of KEPT_HEADERS) if (req.headers[h] !== undefined) headers[h] = req.headers[h]!;
  return {
    method: req.method,
    path: q === -1 ? req.path : req.path.slice(0, q),
    query: q === -1 ? '' : req.path.slice(q + 1),
    body: req.body === undefined ? '' : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : req.body,
    headers,
  };
}

export function storeCall(call: BackendCall, requestId: string): StoredRequest {
  const headers: Record<string, string> = { accept: 'application/json', 'x-request-id': requestId };
  if (call.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  return { method: call.method, path: call.path, query: call.query ?? '', body: call.form?.toString() ?? '', headers };
}

export function replayRequest(stored: StoredRequest, requestId?: string): OutgoingRequest {
  const headers = { ...stored.headers };
  if (requestId) headers['x-request-id'] = requestId;
  return {
    method: stored.method,
    path: stored.query ? `${stored.path}?${stored.query}` : stored.path,
    headers,
    body: stored.body === '' ? undefined : stored.body,
  };
}

export function storeAnswer(a: BackendAnswer): StoredAnswer {
  return { status: a.status, headers: a.headers, bodyBase64: a.body.toString('base64') };
}

export function loadAnswer(a: StoredAnswer): BackendAnswer {
  return { status: a.status, headers: a.headers, body: Buffer.from(a.bodyBase64, 'base64') };
}
