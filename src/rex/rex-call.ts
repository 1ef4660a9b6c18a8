// The answers the REX service composes. /dynflow answers are JSON
// (smart_proxy_dynflow sets content_type :json for every route); /ssh answers to hosts carry an
// empty body unless they succeed, because yggdrasil 0.4 hands any body it gets to the worker.
import type { NativeAnswer } from '../http/native-answer.js';

export function json(status: number, document: unknown): NativeAnswer {
  return { status, contentType: 'json', body: JSON.stringify(document) };
}

export function jsonError(status: number, message: string): NativeAnswer {
  return json(status, { error: message });
}

/** A host answer that yggdrasil cannot mistake for a script. */
export function empty(status: number): NativeAnswer {
  return { status, contentType: 'html', body: '' };
}
