// `replicate`: a write goes to every in-service backend of the feature, in parallel, as a small
// saga: recorded before the first backend call, each backend's snapshot and outcome recorded as
// they come. All applied → the ledger learns the new value and Foreman gets one answer. A
// definite failure somewhere → undo where it was (or may have been) applied, answer with that
// failure. A backend that is down → refuse (`on_backend_down: refuse`), or, with `catch_up`,
// write to the others once `min_success` of them applied it and catch the missing one up later.
// Under `catch_up`, a backend whose snapshot read gets no answer (refused, timed out, marked down
// meanwhile) surely never got the write: it counts as down for this write. A backend still
// catching up on the feature is left out of writes (it gets the new value from the ledger), so
// that a key it is behind on can never make it veto a valid write.
import { describeUnavailable } from '../state/unavailable.js';
import type { Backend } from '../backends/backend.js';
import type { BackendAnswer } from '../features/route.js';
import type { BackendOutcome, BackendResult } from '../state/store.js';
import { storeRequest } from '../converge/stored-form.js';
import { ownRequest } from './outgoing.js';
import { errorAnswer, type PolicyOutcome } from './outcome.js';
import { describeFailure, timedSend, unavailableReason, type RequestContext, type SendResult } from './request-context.js';

/** Snapshots are trusted only when they say "here it is" or "there is none". */
const TRUSTED_SNAPSHOT = new Set([200, 404]);

export function inService(ctx: RequestContext): Backend[] {
  return ctx.feature.backends.filter((b) => b.health.inService);
}

/** Reads skip backends still catching up, unless no other is left. */
export function readPool(ctx: RequestContext): Backend[] {
  const pool = inService(ctx);
  const current = pool.filter((b) => !ctx.converge.isLagging(ctx.feature.name, b.name));
  return current.some((b) => unavailableReason(b) === undefined) ? current : pool;
}

const succeeded = (r: SendResult): r is { backend: Backend; answer: BackendAnswer } =>
  'answer' in r && r.answer.status >= 200 && r.answer.status < 300;

function outcomeOf(r: SendResult): { outcome: BackendOutcome; detail: string } {
  if ('answer' in r) return { outcome: succeeded(r) ? 'applied' : 'rejected', detail: String(r.answer.status) };
  return { outcome: r.error.surelyNotSent ? 'not_sent' : 'unknown', detail: r.error.code };
}

export async function runReplicatedWrite(ctx: RequestContext): Promise<PolicyOutcome> {
  const { route, feature, converge } = ctx;
  const targets = inService(ctx);
  const refuse = (message: string): PolicyOutcome => ({ answer: errorAnswer(503, message), attempts: ctx.attempts });
  if (targets.length === 0) return refuse(`No backend in service for ${feature.name}: all are drained or in maintenance`);

  let live = targets.filter((b) => unavailableReason(b) === undefined);
  const down: Deferred[] = targets.filter((b) => unavailableReason(b) !== undefined).map((b) => ({ backend: b, why: unavailableReason(b)! }));
  // Only writes the ledger can replay may leave a backend behind.
  const catchUp = feature.onBackendDown === 'catch_up' && route.ledger !== undefined;
  if (down.length > 0 && !catchUp) {
    const list = down.map((d) => `${d.backend.name} (${d.why})`).join(', ');
    return refuse(`${feature.name} write refused, nothing was written: ${list} unavailable`);
  }
  if (catchUp && live.length < feature.minSuccess) {
    return refuse(`${feature.name} write refused, nothing was written: ${live.length} backend(s) up, min_success is ${feature.minSuccess}`);
  }
  if (route.ledger) {
    const current = live.filter((b) => !converge.isLagging(feature.name, b.name));
    if (current.length > 0 && current.length >= (catchUp ? feature.minSuccess : 1) && current.length < live.length) {
      for (const b of live) if (!current.includes(b)) down.push({ backend: b, why: 'catching up' });
      live = current;
    }
  }
  // Nothing may be sent unrecorded: when the state store fails (its database is away), the
  // write is refused, or, when the store failed after the write went out, reported unconfirmed.
  const progress = { sent: false };
  try {
    return await converge.locks.with(converge.lockKeys(feature.name, route, ctx.call), () => writeAll(ctx, live, down, catchUp, progress), ctx.deadline);
  } catch (err) {
    if (ctx.deadline.aborted && !progress.sent) {
      return refuse(`${feature.name} write refused, nothing was written: an earlier write to the same object was still running at the deadline`);
    }
    const why = describeUnavailable(err) ?? (err as { code?: string }).code ?? (err as Error).message;
    if (!progress.sent) return refuse(`${feature.name} write refused, nothing was written: the state store cannot record it (${why})`);
    return refuse(
      `${feature.name} write not confirmed: the state store failed while it was sent (${why}); it is settled from the saga log once the store is back`,
    );
  }
}

/** A backend the write is not sent to, and why; it is caught up from the ledger. */
interface Deferred {
  backend: Backend;
  why: string;
}

async function writeAll(ctx: RequestContext, liveAtStart: Backend[], down: Deferred[], catchUp: boolean, progress: { sent: boolean }): Promise<PolicyOutcome> {
  const { route, call, feature, converge } = ctx;
  const targets = [...liveAtStart, ...down.map((d) => d.backend)].map((b) => b.name);
  const deferred = new Map<string, BackendResult>(down.map((d) => [d.backend.name, { outcome: 'deferred', detail: d.why }]));

  // The snapshots are read first (reads change nothing, and the key locks are held), so that
  // the saga is recorded with them in one commit before any write is sent.
  let live = liveAtStart;
  let snapshots: BackendAnswer[] | undefined;
  if (route.snapshot && route.restore) {
    const read = ownRequest(route.snapshot(call), ctx.requestId);
    let results = await Promise.all(live.map((b) => timedSend(ctx, b, read, 'snapshot')));
    // No answer to the snapshot read: the write was never sent there, so under catch_up that
    // backend is simply down for this write. An HTTP error is an answer: the write stops.
    const unanswered = catchUp && !ctx.deadline.aborted ? results.filter((r): r is Extract<SendResult, { error: unknown }> => 'error' in r) : [];
    if (unanswered.length > 0 && live.length - unanswered.length >= feature.minSuccess) {
      for (const r of unanswered) {
        deferred.set(r.backend.name, { outcome: 'deferred', detail: `snapshot: ${r.error.code}` });
        down.push({ backend: r.backend, why: `snapshot read failed: ${r.error.code}` });
      }
      results = results.filter((r) => !(unanswered as SendResult[]).includes(r));
      live = results.map((r) => r.backend);
    }
    const bad = results.filter((r) => 'error' in r || !TRUSTED_SNAPSHOT.has(r.answer.status));
    if (bad.length > 0) {
      // Recorded as refused: the log tells what was asked and why nothing was written.
      const saga = await converge.begin({ feature: feature.name, route, call, request: storeRequest(ctx.outgoing), targets, results: deferred });
      await saga.abandon(
        live.map((b) => b.name),
        'snapshot failed',
        503,
      );
      return {
        answer: errorAnswer(503, `${feature.name} write refused, nothing was written: could not read the current state on ${bad.map(describeFailure).join(', ')}`),
        attempts: ctx.attempts,
      };
    }
    snapshots = results.map((r) => (r as { answer: BackendAnswer }).answer);
  }
  const saga = await converge.begin({
    feature: feature.name,
    route,
    call,
    request: storeRequest(ctx.outgoing),
    targets,
    snapshots: snapshots && new Map(live.map((b, i) => [b.name, snapshots![i]!])),
    results: deferred,
  });

  progress.sent = true;
  const results = await Promise.all(
    live.map(async (b) => {
      const r = await timedSend(ctx, b, ctx.outgoing, 'send');
      // With a snapshot, 'pending' in the log is undone precisely after a crash, so the answer
      // can wait for the saga's end; without one, recovery must know it was applied.
      if (snapshots) saga.note(b.name, outcomeOf(r));
      else await saga.record(b.name, outcomeOf(r));
      return r;
    }),
  );
  const applied = results.filter(succeeded);
  const definite = results.find((r): r is { backend: Backend; answer: BackendAnswer } => 'answer' in r && !succeeded(r));
  const lost = results.filter((r) => 'error' in r);

  if (!definite && (lost.length === 0 || (catchUp && applied.length >= feature.minSuccess))) {
    // Some writes' keys depend on what was there (DHCP delete by IP): read them off a backend that
    // is current. One still catching up may lack a reservation, and its tombstone would be lost.
    const current = live.findIndex((b) => !converge.isLagging(feature.name, b.name));
    const behind = [...down.map((d) => d.backend), ...lost.map((r) => r.backend)];
    // Drained and maintenance backends missed it too: they catch up when they are back.
    const outOfService = feature.backends.filter((b) => !b.health.inService);
    await saga.complete(applied[0]!.answer.status, {
      basis: snapshots?.[Math.max(current, 0)],
      requestId: ctx.requestId,
      original: ctx.outgoing,
      behind: [...behind, ...outOfService].map((b) => b.name),
    });
    return {
      answer: { kind: 'backend', answer: applied[0]!.answer },
      attempts: ctx.attempts,
      notice: behind.length ? `applied on ${applied.length} backend(s); ${behind.map((b) => b.name).join(', ')} will be caught up` : undefined,
    };
  }

  // Bounded: Foreman must be answered; what is not undone now is retried in the background.
  const undo = await saga.fail(definite ? definite.answer.status : 503, { signal: AbortSignal.timeout(ctx.snapshotTimeoutMs) });
  const warning = undo.done
    ? undefined
    : `rollback incomplete, retried in the background (saga ${saga.id}): ${undo.problems.join('; ')}`;
  if (definite) return { answer: { kind: 'backend', answer: definite.answer }, attempts: ctx.attempts, warning };
  const undone = results.filter((r) => succeeded(r) || ('error' in r && !r.error.surelyNotSent)).map((r) => r.backend.name);
  const failed = results.filter((r) => !succeeded(r)).map(describeFailure).join(', ');
  return {
    answer: errorAnswer(503, `${feature.name} write not applied: ${failed} failed${undone.length ? `; rolled back on ${undone.join(', ')}` : ''}`),
    attempts: ctx.attempts,
    warning,
  };
}
