// /logs (and /logs/): the log buffer, optionally from a timestamp (SP modules/logs/logs_api.rb).
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { okJson } from './headers.js';
import { paramString } from './params.js';
import { requestState } from './request-state.js';

/** Ruby's String#to_f: the leading number, 0 when there is none. */
function toF(s: string | undefined): number {
  const m = s === undefined ? null : /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(s);
  return m ? Number(m[0]) : 0;
}

export function logsRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  r.use(gate(ctx.options.trustedHosts));
  r.get('/', (_req, res) => {
    const from = toF(paramString(requestState(res).params, 'from_timestamp'));
    okJson(res, { info: ctx.logs.info(), logs: ctx.logs.records(from) });
  });
  return r;
}
