// What the simulator knows about one API request, kept in res.locals so every module reads the
// same parsed parameters, client identity and request-scoped logger.
import type { Response } from 'express';
import type { LogLevel } from './log-buffer.js';
import type { Params } from './params.js';

export interface RequestState {
  requestId: string;
  startedMs: number;
  /** REMOTE_ADDR without the ::ffff: prefix. */
  remoteAddr: string;
  https: boolean;
  /** CN of a verified client certificate; undefined when none was presented. */
  clientCn?: string;
  clientCertPresented: boolean;
  query: Params;
  form: Params;
  /** Sinatra's params before route captures: query merged with form. */
  params: Params;
  rawBody: Buffer;
  log(level: LogLevel, message: string): void;
}

export function requestState(res: Response): RequestState {
  return res.locals.sim as RequestState;
}

/** Sinatra params for a route: query+form, then the route captures appended. */
export function routeParams(res: Response, captures: Record<string, string>): Map<string, string | null | string[]> {
  const p = new Map(requestState(res).params);
  for (const [k, v] of Object.entries(captures)) p.set(k, v);
  return p;
}
