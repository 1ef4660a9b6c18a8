// Everything a policy needs to serve one request, and the timed send every policy uses.
import type { Convergence } from '../converge/convergence.js';
import type { BackendAnswer, IncomingCall, RouteSpec } from '../features/route.js';
import type { Backend, OutgoingRequest } from '../backends/backend.js';
import { BackendCallError, classifyCallError } from '../backends/call-error.js';
import type { FeatureRuntime } from './feature-runtime.js';
import type { Attempt, Phase } from './outcome.js';

export interface RequestContext {
  call: IncomingCall;
  route: RouteSpec;
  feature: FeatureRuntime;
  requestId: string;
  /** The client's request as it goes to a backend. */
  outgoing: OutgoingRequest;
  attempts: Attempt[];
  /** Saga log, ledger, key locks, catch-up state. */
  converge: Convergence;
  /** Fires at the request's deadline (request_deadline_ms after it arrived): whatever is pending is settled then. */
  deadline: AbortSignal;
  /** Response timeout of snapshot reads, and of each undo call made before answering, ms. */
  snapshotTimeoutMs: number;
}

export type SendResult = { backend: Backend; answer: BackendAnswer } | { backend: Backend; error: BackendCallError };

export async function timedSend(ctx: RequestContext, backend: Backend, req: OutgoingRequest, phase: Phase): Promise<SendResult> {
  const started = performance.now();
  try {
    const answer = await backend.send(req, { signal: ctx.deadline, timeoutMs: phase === 'snapshot' ? ctx.snapshotTimeoutMs : undefined });
    ctx.attempts.push({ backend: backend.name, phase, outcome: String(answer.status), ms: elapsed(started) });
    return { backend, answer };
  } catch (err) {
    const error = classifyCallError(backend.name, err);
    ctx.attempts.push({ backend: backend.name, phase, outcome: error.code, ms: elapsed(started) });
    return { backend, error };
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

/** Why a backend cannot take a request right now, or undefined when it can. */
export function unavailableReason(backend: Backend): string | undefined {
  const h = backend.health;
  if (h.state !== 'up') return h.state;
  if (h.ejected) return 'ejected';
  return undefined;
}

export function describeFailure(r: SendResult): string {
  return 'error' in r ? `${r.backend.name} (${r.error.code})` : `${r.backend.name} (HTTP ${r.answer.status})`;
}
