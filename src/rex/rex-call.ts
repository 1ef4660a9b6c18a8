// A request as the REX service sees it, and the answers it composes. /dynflow answers are JSON
// (smart_proxy_dynflow sets content_type :json for every route); /ssh answers to hosts carry an
// empty body unless they succeed, because yggdrasil 0.4 hands any body it gets to the worker.
import type { IncomingHttpHeaders } from 'node:http';
import type { ClientIdentity } from '../http/trusted-hosts.js';
import type { NativeAnswer } from '../http/native-answer.js';

export interface RexCall {
  /** GET for HEAD. */
  method: string;
  head: boolean;
  /** `//` collapsed, no query. */
  path: string;
  rawQuery: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  client: ClientIdentity;
}

export interface RexAnswer {
  answer: NativeAnswer;
  /** 'dynflow' or 'script', for the request log line. */
  feature: string;
  route: string;
}

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

/** Path segments after a prefix, percent-decoded; undefined when a segment is not decodable. */
export function segments(path: string, prefix: string): string[] | undefined {
  const rest = path.slice(prefix.length);
  const parts = rest === '' ? [] : rest.replace(/^\//, '').split('/');
  try {
    return parts.map((p) => decodeURIComponent(p));
  } catch {
    return undefined;
  }
}

/** What the request handler asks of the REX service, before any feature routing. */
export interface RexHook {
  /** Body limit for this path when it is not max_body_bytes (launch requests carry scripts). */
  bodyLimit(path: string): number | undefined;
  /** The answer for /dynflow/* and /ssh/* routes the spool serves; undefined for anything else. */
  handle(call: RexCall): Promise<RexAnswer | undefined>;
}
