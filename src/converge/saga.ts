// One replicated write as one object: begun (recorded before the first backend call), its
// snapshots and per-backend outcomes recorded as they come, then completed or compensated.
// It keeps the call, the route and the snapshots in memory, so a failed write is undone with
// exactly what it sent and read; a saga is rebuilt from the log only by crash recovery and by
// background retries of a compensation (fromRecord).
import type { Backend, OutgoingRequest, SendOptions } from '../backends/backend.js';
import type { BackendAnswer, BackendCall, IncomingCall, RouteSpec } from '../features/route.js';
import type { Logger } from '../ops/logger.js';
import type { BackendResult, LedgerEntry, SagaRecord, SagaStatus, StateStore, StoredAnswer, StoredRequest } from '../state/store.js';
import { loadAnswer, storeAnswer } from './stored-form.js';

/** Outcomes after which a backend may hold the write. */
const MAY_HOLD = new Set(['applied', 'unknown', 'pending']);

/** What a saga needs from the daemon around it; Convergence provides it. */
export interface SagaHost {
  readonly store: StateStore;
  readonly logger: Logger;
  /** The configured backend of that name, undefined once it was removed from the config. */
  backend(name: string): Backend | undefined;
  /** When the next compensation attempt is due after `attempts` failed ones (epoch ms). */
  nextAttempt(attempts: number): number;
  /** A write succeeded: its saga completes with its ledger entries, in one commit. */
  completeWrite(
    saga: { id: number; feature: string; route: RouteSpec; call: IncomingCall },
    done: WriteSuccess,
  ): Promise<void>;
  /** Send a ledger entry (the backend is marked as holding it on success); true or why not. */
  sendEntry(backend: Backend, entry: LedgerEntry, requestId: string, opts?: SendOptions): Promise<true | string>;
  /** Send one call and judge its answer; true or why not. */
  sendCall(backend: Backend, call: BackendCall, requestId: string, opts?: SendOptions): Promise<true | string>;
}

/** What a successful write hands to its completion. */
export interface WriteSuccess {
  answerStatus?: number;
  /** Answers noted in memory and not yet in the log. */
  results: Record<string, BackendResult>;
  /** The snapshot keys that depend on what was there are read off. */
  snapshot: BackendAnswer | undefined;
  holders: string[];
  behind: string[];
  requestId: string;
  original: OutgoingRequest;
}

export interface SagaStart {
  feature: string;
  route: RouteSpec;
  call: IncomingCall;
  /** The request as it goes to every target (and as it is kept in the log). */
  request: StoredRequest;
  targets: string[];
  /** The state each target held before the write, read before the saga begins. */
  snapshots?: Map<string, BackendAnswer>;
  /** Outcomes known at the start (backends the write is not sent to: 'deferred'). */
  results?: Map<string, BackendResult>;
}

export class Saga {
  readonly snapshots = new Map<string, BackendAnswer>();
  readonly results = new Map<string, BackendResult>();
  /** Targets whose answer is noted here but not yet in the log. */
  private readonly unrecorded = new Set<string>();
  private attempts: number;
  private state: SagaStatus;

  private constructor(
    private readonly host: SagaHost,
    readonly id: number,
    readonly feature: string,
    readonly routeName: string,
    readonly route: RouteSpec,
    readonly call: IncomingCall,
    readonly request: StoredRequest,
    readonly targets: string[],
    status: SagaStatus,
    attempts: number,
  ) {
    this.state = status;
    this.attempts = attempts;
  }

  /**
   * Recorded before any write is sent, with the snapshots read before it: every target
   * 'pending' until it answers, unless its outcome is known already.
   */
  static async begin(host: SagaHost, start: SagaStart): Promise<Saga> {
    const snapshots: Record<string, StoredAnswer> = {};
    for (const [b, a] of start.snapshots ?? []) snapshots[b] = storeAnswer(a);
    const id = await host.store.beginSaga({
      feature: start.feature,
      route: start.route.name,
      request: start.request,
      targets: start.targets,
      snapshots,
      results: Object.fromEntries(start.results ?? []),
    });
    const saga = new Saga(host, id, start.feature, start.route.name, start.route, start.call, start.request, start.targets, 'open', 0);
    for (const t of start.targets) saga.results.set(t, start.results?.get(t) ?? { outcome: 'pending' });
    for (const [b, a] of start.snapshots ?? []) saga.snapshots.set(b, a);
    return saga;
  }

  /** A saga read back from the log (crash recovery, compensation retries), its call rebuilt. */
  static fromRecord(host: SagaHost, record: SagaRecord, rebuilt: { route: RouteSpec; call: IncomingCall }): Saga {
    const saga = new Saga(host, record.id, record.feature, record.route, rebuilt.route, rebuilt.call, record.request, record.targets, record.status, record.attempts);
    for (const [b, a] of Object.entries(record.snapshots)) saga.snapshots.set(b, loadAnswer(a));
    for (const t of record.targets) saga.results.set(t, record.results[t] ?? { outcome: 'pending' });
    return saga;
  }

  get status(): SagaStatus {
    return this.state;
  }

  outcome(target: string): BackendResult['outcome'] {
    return this.results.get(target)?.outcome ?? 'pending';
  }

  async record(target: string, result: BackendResult): Promise<void> {
    await this.host.store.recordResult(this.id, target, result);
    this.results.set(target, result);
    this.unrecorded.delete(target);
  }

  /**
   * An answer to the write, kept here until the saga ends: 'pending' in the log reads "may
   * have been applied" until then, which is what recovery needs. Completion records it in its
   * commit; a failure records it before undoing anything.
   */
  note(target: string, result: BackendResult): void {
    this.results.set(target, result);
    this.unrecorded.add(target);
  }

  /** Nothing was sent (e.g. a snapshot could not be read): closed as undone, with the answer given. */
  async abandon(targets: string[], detail: string, answerStatus: number): Promise<void> {
    for (const t of targets) await this.record(t, { outcome: 'not_sent', detail });
    await this.setStatus('compensated', answerStatus);
  }

  /**
   * Every target that was sent the write applied it: the ledger learns the intended values
   * (keys that depend on what was there are read off `basis`), those behind are marked lagging.
   */
  async complete(answerStatus: number | undefined, opts: { basis: BackendAnswer | undefined; requestId: string; original: OutgoingRequest; behind: string[] }): Promise<void> {
    const holders = this.targets.filter((t) => this.outcome(t) === 'applied');
    const results = Object.fromEntries([...this.unrecorded].map((t) => [t, this.results.get(t)!]));
    await this.host.completeWrite(this, { answerStatus, results, snapshot: opts.basis, holders, behind: opts.behind, requestId: opts.requestId, original: opts.original });
    this.unrecorded.clear();
    this.state = 'completed';
  }

  /** The write failed: undo it wherever it was (or may have been) applied. The caller holds its keys. */
  async fail(answerStatus: number, opts: SendOptions = {}): Promise<{ done: boolean; problems: string[] }> {
    for (const t of [...this.unrecorded]) await this.record(t, this.results.get(t)!);
    await this.setStatus('compensating', answerStatus);
    return this.compensate('snapshot', opts);
  }

  /**
   * Undo on every target that may hold the write. `prefer: 'snapshot'` is for the request that
   * just failed: nothing can have happened since its snapshot, so it is restored exactly. Later
   * retries prefer the ledger, which may know of newer writes. The caller holds the keys.
   * `opts` bounds each undo call (a live request's deadline).
   */
  async compensate(prefer: 'snapshot' | 'ledger', opts: SendOptions = {}): Promise<{ done: boolean; problems: string[] }> {
    const problems: string[] = [];
    for (const target of this.targets) {
      const outcome = this.outcome(target);
      if (!MAY_HOLD.has(outcome)) continue;
      const backend = this.host.backend(target);
      if (!backend) {
        // Removed from the config: nothing left to undo there.
        await this.record(target, { outcome: 'compensated', detail: 'backend no longer configured' });
        continue;
      }
      const ok = await this.undoOn(backend, this.snapshots.get(target), outcome, prefer, opts);
      if (ok === true) await this.record(target, { outcome: 'compensated' });
      else problems.push(`${target}: ${ok}`);
    }
    if (problems.length === 0) {
      await this.setStatus('compensated');
      this.host.logger.info(`saga ${this.id} (${this.routeName}) compensated`);
      return { done: true, problems };
    }
    await this.setStatus('compensating');
    await this.retryLater(problems.join('; '));
    this.host.logger.warn(`saga ${this.id} (${this.routeName}) compensation pending: ${problems.join('; ')}`);
    return { done: false, problems };
  }

  /** A compensation attempt failed (or could not start): count it, schedule the next. */
  async retryLater(error: string): Promise<void> {
    await this.host.store.scheduleRetry(this.id, this.host.nextAttempt(this.attempts), error);
    this.attempts++;
  }

  async setStatus(status: SagaStatus, answerStatus?: number): Promise<void> {
    await this.host.store.setSagaStatus(this.id, status, answerStatus);
    this.state = status;
  }

  /** true, or why it failed. */
  private async undoOn(backend: Backend, snapshot: BackendAnswer | undefined, outcome: string, prefer: 'snapshot' | 'ledger', opts: SendOptions): Promise<true | string> {
    const requestId = `compensate-${this.id}`;
    const changes = this.route.ledger?.(this.call, snapshot) ?? [];
    const exactUndo = prefer === 'snapshot' && snapshot !== undefined && this.route.restore !== undefined;
    if (!exactUndo && changes.length > 0) {
      const entries = await Promise.all(changes.map((c) => this.host.store.getDesired(this.feature, c.key)));
      if (entries.every((e): e is LedgerEntry => e !== undefined)) {
        for (const e of entries) {
          const r = await this.host.sendEntry(backend, e, requestId, opts);
          if (r !== true) return r;
        }
        return true;
      }
    }
    if (!snapshot) {
      // Snapshots are recorded before any write is sent: without one, nothing was sent.
      return outcome === 'pending' ? true : `no snapshot to restore from`;
    }
    if (!this.route.restore) return this.route.noInverse ?? 'no inverse request exists';
    for (const step of this.route.restore(this.call, snapshot)) {
      const r = await this.host.sendCall(backend, step, requestId, opts);
      if (r !== true) return r;
    }
    return true;
  }
}
