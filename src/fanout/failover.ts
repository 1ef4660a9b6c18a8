// `failover`: one backend answers. Move on when the request surely never arrived (refused,
// connect timeout, open circuit); for routes safe to repeat, also after a 5xx or a response
// timeout. An exactly-once route is never sent a second time once it may have arrived.
import type { Backend } from '../backends/backend.js';
import { errorAnswer, type PolicyOutcome } from './outcome.js';
import { describeFailure, timedSend, unavailableReason, type RequestContext, type SendResult } from './request-context.js';

export function orderedCandidates(ctx: RequestContext, pool: Backend[]): Backend[] {
  if (ctx.feature.order !== 'round_robin' || pool.length < 2) return pool;
  const start = ctx.feature.cursor++ % pool.length;
  return [...pool.slice(start), ...pool.slice(0, start)];
}

export async function runFailover(ctx: RequestContext, pool: Backend[]): Promise<PolicyOutcome> {
  const { route } = ctx;
  const mayRepeat = route.retrySafe && !route.exactlyOnce;
  const skipped: string[] = [];
  let last: SendResult | undefined;
  for (const backend of orderedCandidates(ctx, pool)) {
    const why = unavailableReason(backend);
    if (why) {
      skipped.push(`${backend.name} (${why})`);
      continue;
    }
    const result = await timedSend(ctx, backend, ctx.outgoing, 'send');
    last = result;
    if ('answer' in result) {
      const s = result.answer.status;
      if (s >= 500 && s !== 501 && mayRepeat) continue;
      return { answer: { kind: 'backend', answer: result.answer }, attempts: ctx.attempts };
    }
    if (result.error.surelyNotSent || mayRepeat) continue;
    return {
      answer: errorAnswer(
        503,
        `${ctx.feature.name}: ${backend.name} did not answer (${result.error.code}); the request may have been applied there, so it was not sent to another backend`,
      ),
      attempts: ctx.attempts,
    };
  }
  if (last && 'answer' in last) return { answer: { kind: 'backend', answer: last.answer }, attempts: ctx.attempts };
  const tried = ctx.attempts.filter((a) => a.phase === 'send').length;
  const reasons = [...skipped, ...(last ? [describeFailure(last)] : [])];
  return {
    answer: errorAnswer(
      503,
      `No backend available for ${ctx.feature.name}${reasons.length ? `: ${reasons.join(', ')}` : ''}${tried > 1 ? ` (${tried} tried)` : ''}`,
    ),
    attempts: ctx.attempts,
  };
}
