// `primary`: the first backend only, never moved (Puppet CA tokens validate only on their issuer).
import { errorAnswer, type PolicyOutcome } from './outcome.js';
import { timedSend, unavailableReason, type RequestContext } from './request-context.js';

export async function runPrimary(ctx: RequestContext): Promise<PolicyOutcome> {
  const primary = ctx.feature.backends[0];
  if (!primary) return { answer: errorAnswer(503, `No backend configured for ${ctx.feature.name}`), attempts: ctx.attempts };
  const why = unavailableReason(primary);
  if (why) {
    return {
      answer: errorAnswer(503, `Primary backend ${primary.name} for ${ctx.feature.name} is ${why}`),
      attempts: ctx.attempts,
    };
  }
  const result = await timedSend(ctx, primary, ctx.outgoing, 'send');
  if ('answer' in result) return { answer: { kind: 'backend', answer: result.answer }, attempts: ctx.attempts };
  return {
    answer: errorAnswer(503, `Primary backend ${primary.name} for ${ctx.feature.name} failed: ${result.error.code}`),
    attempts: ctx.attempts,
  };
}
