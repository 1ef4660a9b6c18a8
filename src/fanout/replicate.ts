// `replicate`: a write goes to every in-service backend of the feature, in parallel. Before it,
// each backend's current value is read (where the route has a snapshot read) so that a partial
// failure can be undone precisely: re-create what was there, delete only what the write made.
import type { Backend } from '../backends/backend.js';
import type { BackendAnswer } from '../features/route.js';
import { ownRequest } from './outgoing.js';
import { errorAnswer, type PolicyOutcome } from './outcome.js';
import { describeFailure, timedSend, unavailableReason, type RequestContext, type SendResult } from './request-context.js';

/** Snapshots are trusted only when they say "here it is" or "there is none". */
const TRUSTED_SNAPSHOT = new Set([200, 404]);

export function inService(ctx: RequestContext): Backend[] {
  return ctx.feature.backends.filter((b) => b.health.inService);
}

export async function runReplicatedWrite(ctx: RequestContext): Promise<PolicyOutcome> {
  const { route, call, feature } = ctx;
  const targets = inService(ctx);
  const done = (status: number, message: string, warning?: string): PolicyOutcome => ({
    answer: errorAnswer(status, message),
    attempts: ctx.attempts,
    warning,
  });
  if (targets.length === 0) return done(503, `No backend in service for ${feature.name}: all are drained or in maintenance`);

  // A backend that is down would miss the write: refuse before touching anything.
  const down = targets.filter((b) => unavailableReason(b) !== undefined);
  if (down.length > 0) {
    const list = down.map((b) => `${b.name} (${unavailableReason(b)})`).join(', ');
    return done(503, `${feature.name} write refused, nothing was written: ${list} unavailable`);
  }

  let snapshots: BackendAnswer[] | undefined;
  if (route.snapshot && route.restore) {
    const read = ownRequest(route.snapshot(call), ctx.requestId);
    const results = await Promise.all(targets.map((b) => timedSend(ctx, b, read, 'snapshot')));
    const bad = results.filter((r) => 'error' in r || !TRUSTED_SNAPSHOT.has(r.answer.status));
    if (bad.length > 0) {
      return done(503, `${feature.name} write refused, nothing was written: could not read the current state on ${bad.map(describeFailure).join(', ')}`);
    }
    snapshots = results.map((r) => (r as { answer: BackendAnswer }).answer);
  }

  const results = await Promise.all(targets.map((b) => timedSend(ctx, b, ctx.outgoing, 'send')));
  const succeeded = (r: SendResult) => 'answer' in r && r.answer.status >= 200 && r.answer.status < 300;
  if (results.every(succeeded)) {
    return { answer: { kind: 'backend', answer: (results[0] as { answer: BackendAnswer }).answer }, attempts: ctx.attempts };
  }

  // Undo where it was (or may have been) applied. A backend that surely never got the write,
  // or answered with an error, holds its old state already.
  const toUndo = results
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => succeeded(r) || ('error' in r && !r.error.surelyNotSent));
  const warning = await compensate(ctx, targets, toUndo.map((u) => u.i), snapshots);

  const definite = results.find((r): r is { backend: Backend; answer: BackendAnswer } => 'answer' in r && !succeeded(r));
  if (definite) return { answer: { kind: 'backend', answer: definite.answer }, attempts: ctx.attempts, warning };
  const failed = results.filter((r) => !succeeded(r)).map(describeFailure).join(', ');
  const undone = toUndo.map(({ i }) => targets[i]!.name);
  return done(
    503,
    `${feature.name} write not applied: ${failed} failed${undone.length ? `; rolled back on ${undone.join(', ')}` : ''}`,
    warning,
  );
}

async function compensate(
  ctx: RequestContext,
  targets: Backend[],
  indexes: number[],
  snapshots: BackendAnswer[] | undefined,
): Promise<string | undefined> {
  if (indexes.length === 0) return undefined;
  const { route, call } = ctx;
  const names = indexes.map((i) => targets[i]!.name).join(', ');
  if (!route.restore || !snapshots) {
    return `${route.name} could not be rolled back on ${names}: ${route.noInverse ?? 'no inverse request exists'}`;
  }
  const problems: string[] = [];
  await Promise.all(
    indexes.map(async (i) => {
      const backend = targets[i]!;
      // Restore steps run in order on one backend (e.g. delete, then re-create).
      for (const step of route.restore!(call, snapshots[i]!)) {
        const r = await timedSend(ctx, backend, ownRequest(step, ctx.requestId), 'restore');
        if ('error' in r || r.answer.status >= 300) {
          problems.push(`${describeFailure(r)} on ${step.method} ${step.path}`);
          break;
        }
      }
    }),
  );
  return problems.length ? `rollback incomplete, backends out of step: ${problems.join('; ')}` : undefined;
}

/**
 * A read whose answer must hold on every backend (DHCP unused_ip): ask one backend, check the
 * answer on the others, ask again when one of them disagrees.
 */
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
