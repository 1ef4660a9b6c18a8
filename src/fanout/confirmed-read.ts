// A read whose answer must hold on every backend of a replicated feature (DHCP unused_ip): ask
// one backend, check the answer on the others, ask again when one of them disagrees.
import type { Backend } from '../backends/backend.js';
import { ownRequest } from './outgoing.js';
import { errorAnswer, type PolicyOutcome } from './outcome.js';
import { describeFailure, timedSend, unavailableReason, type RequestContext } from './request-context.js';

export async function runConfirmedRead(ctx: RequestContext, pool: Backend[], maxTries = 5): Promise<PolicyOutcome> {
  const confirm = ctx.route.confirm!;
  const usable = pool.filter((b) => unavailableReason(b) === undefined);
  const first = usable[0];
  if (!first) return { answer: errorAnswer(503, `No backend available for ${ctx.feature.name}`), attempts: ctx.attempts };
  const others = usable.slice(1);
  for (let attempt = 1; attempt <= maxTries; attempt++) {
    const r = await timedSend(ctx, first, ctx.outgoing, 'send');
    if ('error' in r) {
      return { answer: errorAnswer(503, `${ctx.feature.name}: ${describeFailure(r)}`), attempts: ctx.attempts };
    }
    const check = r.answer.status === 200 ? confirm.check(ctx.call, r.answer) : undefined;
    if (!check || others.length === 0) return { answer: { kind: 'backend', answer: r.answer }, attempts: ctx.attempts };
    const req = ownRequest(check, ctx.requestId);
    const verdicts = await Promise.all(others.map((b) => timedSend(ctx, b, req, 'confirm')));
    if (verdicts.every((v) => 'answer' in v && confirm.accepts(v.answer))) {
      return { answer: { kind: 'backend', answer: r.answer }, attempts: ctx.attempts };
    }
  }
  return {
    answer: errorAnswer(503, `${ctx.feature.name}: no answer held on every backend after ${maxTries} tries`),
    attempts: ctx.attempts,
  };
}
