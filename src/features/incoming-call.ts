// The one builder of the call a route's functions see: from a live request (http/) and from a
// stored one when a saga is finished or undone after a restart (converge/), so both see the same.
import type { IncomingHttpHeaders } from 'node:http';
import type { HttpMethod, IncomingCall } from './route.js';

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The smart proxy reads form fields only from this content type. */
export function isFormBody(headers: IncomingHttpHeaders): boolean {
  const type = headers['content-type'];
  return typeof type === 'string' && type.toLowerCase().startsWith(FORM_TYPE);
}

export interface CallParts extends Omit<IncomingCall, 'query' | 'form'> {
  /** Already parsed (the live path needs it early for `_method`); parsed from the body when absent. */
  form?: URLSearchParams;
}

export function incomingCall(parts: CallParts): IncomingCall {
  const form = parts.form ?? (isFormBody(parts.headers) ? new URLSearchParams(parts.body.toString('utf8')) : new URLSearchParams());
  // Every field named, not spread: on the request path a spread of the parts cost microseconds.
  return {
    method: parts.method as HttpMethod,
    path: parts.path,
    rawQuery: parts.rawQuery,
    query: new URLSearchParams(parts.rawQuery),
    params: parts.params,
    form,
    body: parts.body,
    headers: parts.headers,
    head: parts.head,
    requestId: parts.requestId,
    client: parts.client,
  };
}
