// Keeps the backends of replicated features holding what Foreman was told they hold:
// - the ledger records each successful write's intended value per object key;
// - sagas left open by a crash are finished (every target applied it) or compensated;
// - failed compensations are retried with back-off until they succeed;
// - a backend that missed writes (down, rebuilt, newly added) is caught up from the ledger,
//   and is not used for reads of that feature until it has.
// A compensation converges a key to the ledger when the ledger knows it, and only falls back to
// the saga's snapshot for state that predates proxy-proxy: a compensation retried late can then
// never undo a newer write.
import type { Backend, OutgoingRequest, SendOptions } from '../backends/backend.js';
import type { BackendAnswer, BackendCall, IncomingCall, RouteSpec } from '../features/route.js';
import type { Logger } from '../ops/logger.js';
import type { Runtime } from '../runtime.js';
import type { LedgerEntry, SagaRecord, StateStore } from '../state/store.js';
import { KeyLock } from './key-lock.js';
import { rebuildCall } from './rebuild-call.js';
import { loadAnswer, replayRequest, storeCall, storeRequest } from './stored-form.js';

const TICK_MS = 250;
/** A snapshot saying the key held nothing: `restore` then lists what removes the write's effect. */
const ABSENT: BackendAnswer = { status: 404, headers: {}, body: Buffer.alloc(0) };
/** Outcomes after which a backend may hold the write. */
const MAY_HOLD = new Set(['applied', 'unknown', 'pending']);

export interface ConvergenceStatus {
  openSagas: number;
  pendingCompensations: { id: number; feature: string; route: string; attempts: number; nextAttemptAt: number | null; lastError: string | null }[];
  catchUpBacklog: Record<string, Record<string, number>>;
}

export class Convergence {
  readonly locks = new KeyLock();
  private readonly lagging = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;

  constructor(
    readonly store: StateStore,
    private readonly runtime: () => Runtime,
    private readonly logger: Logger,
  ) {}

  /** Keys a write must hold while it runs: its ledger keys, or its path when it has none. */
  lockKeys(feature: string, route: RouteSpec, call: IncomingCall): string[] {
    const changes = route.ledger?.(call, undefined) ?? [];
    return changes.length ? changes.map((c) => `${feature}/${c.key}`) : [`${feature}:${call.path}`];
  }

  isLagging(feature: string, backend: string): boolean {
    return this.lagging.get(feature)?.has(backend) ?? false;
  }

  markLagging(feature: string, backend: string): void {
    const set = this.lagging.get(feature) ?? new Set<string>();
    set.add(backend);
    this.lagging.set(feature, set);
  }

  /** After a write succeeded: record the intended values and who holds them. */
  recordSuccess(
    feature: string,
    route: RouteSpec,
    call: IncomingCall,
    snapshot: BackendAnswer | undefined,
    holders: string[],
    requestId: string,
    original: OutgoingRequest,
  ): void {
    for (const change of route.ledger?.(call, snapshot) ?? []) {
      const request = change.request ? storeCall(change.request, requestId) : storeRequest(original);
      // A change derived from what was there (DHCP delete by IP → the MACs it held) did to a
      // backend that was behind on the key something else than the change: it is only known
      // to hold the new state where it held the previous one. The others catch up precisely.
      const before = change.request ? (this.store.getDesired(feature, change.key)?.version ?? 0) : 0;
      const version = this.store.putDesired({ feature, key: change.key, op: change.op, request });
      for (const b of holders) {
        if (this.store.appliedVersion(feature, change.key, b) >= before) this.store.markApplied(feature, change.key, b, version);
        else this.markLagging(feature, b);
      }
    }
  }

  start(): void {
    this.recover();
    this.scanBacklogs();
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Backends of replicated features that are behind the ledger (e.g. newly added ones). */
  scanBacklogs(): void {
    for (const f of this.runtime().features.values()) {
      if (f.policy !== 'replicate') continue;
      for (const b of f.backends) {
        if (this.store.backlogSize(f.name, b.name) > 0) this.markLagging(f.name, b.name);
      }
    }
  }

  /**
   * Sagas a crash left open: every target applied it → complete it (and record it in the
   * ledger); otherwise Foreman saw no success, so compensate.
   */
  recover(): void {
    for (const saga of this.store.unfinishedSagas()) {
      if (saga.status !== 'open') continue;
      const rebuilt = rebuildCall(this.runtime().router, saga.request);
      const results = saga.targets.map((t) => saga.results[t]?.outcome ?? 'pending');
      const applied = saga.targets.filter((t) => saga.results[t]?.outcome === 'applied');
      const complete = results.every((o) => o === 'applied' || o === 'deferred') && applied.length > 0;
      if (complete && rebuilt) {
        // As for a live write: keys that depend on a snapshot are read off a target that is current.
        const basis = saga.targets.find((t) => saga.snapshots[t] && this.store.backlogSize(saga.feature, t) === 0) ?? saga.targets[0]!;
        const first = saga.snapshots[basis];
        this.recordSuccess(saga.feature, rebuilt.route, rebuilt.call, first ? loadAnswer(first) : undefined, applied, `recover-${saga.id}`, replayRequest(saga.request));
        for (const t of saga.targets) if (saga.results[t]?.outcome === 'deferred') this.markLagging(saga.feature, t);
        this.store.setSagaStatus(saga.id, 'completed');
        this.logger.warn(`saga ${saga.id} (${saga.route}) found open after a restart: applied on every target, completed`);
      } else {
        this.store.setSagaStatus(saga.id, 'compensating');
        this.logger.warn(`saga ${saga.id} (${saga.route}) found open after a restart: not applied everywhere, compensating`);
      }
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      await this.retryCompensations();
      await this.catchUp();
    } catch (err) {
      this.logger.error(`convergence: ${(err as Error).stack ?? String(err)}`);
    } finally {
      this.ticking = false;
    }
  }

  private async retryCompensations(): Promise<void> {
    const now = Date.now();
    for (const saga of this.store.unfinishedSagas()) {
      if (saga.status !== 'compensating' || (saga.nextAttemptAt !== null && saga.nextAttemptAt > now)) continue;
      await this.compensate(saga);
    }
  }

  /** Undo a saga wherever it may have been applied. Returns true when it is fully undone. */
  async compensate(saga: SagaRecord): Promise<boolean> {
    const rebuilt = rebuildCall(this.runtime().router, saga.request);
    if (!rebuilt) {
      this.store.scheduleRetry(saga.id, this.nextAttempt(saga), `no route matches ${saga.request.method} ${saga.request.path}`);
      return false;
    }
    const keys = this.lockKeys(saga.feature, rebuilt.route, rebuilt.call);
    return (await this.locks.with(keys, () => this.compensateLocked(saga.id, 'ledger'))).done;
  }

  /**
   * Compensation for a caller that already holds the saga's keys. `prefer: 'snapshot'` is for
   * the request that just failed: nothing can have happened since its snapshot, so it is
   * restored exactly. Later retries prefer the ledger, which may know of newer writes.
   */
  async compensateLocked(sagaId: number, prefer: 'snapshot' | 'ledger', opts: SendOptions = {}): Promise<{ done: boolean; problems: string[] }> {
    const saga = this.store.getSaga(sagaId)!;
    const rt = this.runtime();
    const rebuilt = rebuildCall(rt.router, saga.request)!;
    const problems: string[] = [];
    for (const target of saga.targets) {
      const outcome = saga.results[target]?.outcome ?? 'pending';
      if (!MAY_HOLD.has(outcome)) continue;
      const backend = rt.backends.get(target);
      if (!backend) {
        // Removed from the config: nothing left to undo there.
        this.store.recordResult(saga.id, target, { outcome: 'compensated', detail: 'backend no longer configured' });
        continue;
      }
      const snap = saga.snapshots[target];
      const ok = await this.undoOn(saga, backend, rebuilt.route, rebuilt.call, snap ? loadAnswer(snap) : undefined, outcome, prefer, opts);
      if (ok === true) this.store.recordResult(saga.id, target, { outcome: 'compensated' });
      else problems.push(`${target}: ${ok}`);
    }
    if (problems.length === 0) {
      this.store.setSagaStatus(saga.id, 'compensated');
      this.logger.info(`saga ${saga.id} (${saga.route}) compensated`);
      return { done: true, problems };
    }
    this.store.setSagaStatus(saga.id, 'compensating');
    this.store.scheduleRetry(saga.id, this.nextAttempt(saga), problems.join('; '));
    this.logger.warn(`saga ${saga.id} (${saga.route}) compensation pending: ${problems.join('; ')}`);
    return { done: false, problems };
  }

  /** true, or why it failed. */
  private async undoOn(
    saga: SagaRecord,
    backend: Backend,
    route: RouteSpec,
    call: IncomingCall,
    snapshot: BackendAnswer | undefined,
    outcome: string,
    prefer: 'snapshot' | 'ledger',
    opts: SendOptions,
  ): Promise<true | string> {
    const requestId = `compensate-${saga.id}`;
    const changes = route.ledger?.(call, snapshot) ?? [];
    const entries = changes.map((c) => this.store.getDesired(saga.feature, c.key));
    const exactUndo = prefer === 'snapshot' && snapshot !== undefined && route.restore !== undefined;
    if (!exactUndo && changes.length > 0 && entries.every((e): e is LedgerEntry => e !== undefined)) {
      for (const e of entries) {
        const r = await this.sendEntry(backend, e, requestId, opts);
        if (r !== true) return r;
      }
      return true;
    }
    if (!snapshot) {
      // Snapshots are recorded before any write is sent: without one, nothing was sent.
      return outcome === 'pending' ? true : `no snapshot to restore from`;
    }
    if (!route.restore) return route.noInverse ?? 'no inverse request exists';
    for (const step of route.restore(call, snapshot)) {
      const r = await this.sendCall(backend, step, requestId, opts);
      if (r !== true) return r;
    }
    return true;
  }

  private nextAttempt(saga: SagaRecord): number {
    const { base_ms, max_ms } = this.runtime().config.compensation_retry;
    return Date.now() + Math.min(base_ms * 2 ** saga.attempts, max_ms);
  }

  /** Replay the ledger to every lagging backend that is up; it serves reads again when done. */
  private async catchUp(): Promise<void> {
    const rt = this.runtime();
    for (const [feature, backends] of this.lagging) {
      const f = rt.features.get(feature);
      for (const name of [...backends]) {
        const backend = rt.backends.get(name);
        if (!f || f.policy !== 'replicate' || !backend || !f.backends.includes(backend)) {
          backends.delete(name);
          continue;
        }
        if (!backend.health.available) continue;
        if (await this.catchUpBackend(feature, backend)) {
          backends.delete(name);
          // A rollback still to be retried reads the ledger to know a key is gone: without its
          // tombstone it would fall back to a snapshot that may predate the delete.
          if (!this.store.unfinishedSagas().some((s) => s.feature === feature)) this.store.pruneTombstones(feature, f.backends.map((b) => b.name));
          this.logger.info(`backend ${name} caught up on ${feature}`, { backend: name, feature });
        }
      }
    }
  }

  /** Returns true when the backend's backlog for the feature is empty. */
  async catchUpBackend(feature: string, backend: Backend): Promise<boolean> {
    for (const entry of this.store.backlog(feature, backend.name)) {
      const r = await this.locks.with([`${feature}/${entry.key}`], async () => {
        const latest = this.store.getDesired(feature, entry.key);
        if (!latest || this.store.appliedVersion(feature, entry.key, backend.name) >= latest.version) return true;
        return this.sendEntry(backend, latest, `catch-up-${latest.version}`);
      });
      if (r === true) continue;
      this.logger.warn(`catch-up of ${backend.name} on ${feature} ${entry.key} failed: ${r}`, { backend: backend.name, feature });
      // The ledger keeps one value per key, so a refused entry may wait on a later one (a DHCP
      // address still held there by a reservation the ledger moves further on): go past refusals,
      // retry them next round; stop only when the backend itself fails.
      if (!r.startsWith('HTTP ')) return false;
    }
    return this.store.backlogSize(feature, backend.name) === 0;
  }

  /** Send a ledger entry; on success the backend is marked as holding its version. */
  async sendEntry(backend: Backend, entry: LedgerEntry, requestId: string, opts: SendOptions = {}): Promise<true | string> {
    try {
      let answer = await backend.send(replayRequest(entry.request, requestId), opts);
      // A put can conflict with what the backend already holds for its key: a DHCP create that
      // landed while its answer was lost, or an older reservation for the MAC that the ledger has
      // since replaced. The ledger is the truth for the key: clear it there, then put again.
      if (entry.op === 'put' && answer.status === 409) answer = (await this.replaceEntry(backend, entry, requestId, opts)) ?? answer;
      // Deleting what is already gone is success for the smart proxy, and for us.
      const ok = (answer.status >= 200 && answer.status < 300) || (entry.op === 'delete' && answer.status === 404);
      if (!ok) return `HTTP ${answer.status} ${answer.body.toString('utf8').slice(0, 200)}`;
      this.store.markApplied(entry.feature, entry.key, backend.name, entry.version);
      return true;
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  }

  /**
   * Remove whatever the backend holds for a put's key, with the requests the route's restore
   * lists for "nothing was there before", then send the put again. Undefined when the route has
   * no such undo or the removal failed.
   */
  private async replaceEntry(backend: Backend, entry: LedgerEntry, requestId: string, opts: SendOptions): Promise<BackendAnswer | undefined> {
    const rebuilt = rebuildCall(this.runtime().router, entry.request);
    if (!rebuilt?.route.restore) return undefined;
    for (const step of rebuilt.route.restore(rebuilt.call, ABSENT)) {
      if ((await this.sendCall(backend, step, requestId, opts)) !== true) return undefined;
    }
    return backend.send(replayRequest(entry.request, requestId), opts);
  }

  private async sendCall(backend: Backend, call: BackendCall, requestId: string, opts: SendOptions = {}): Promise<true | string> {
    try {
      const answer = await backend.send(replayRequest(storeCall(call, requestId)), opts);
      return answer.status >= 200 && answer.status < 300 ? true : `HTTP ${answer.status} on ${call.method} ${call.path}`;
    } catch (err) {
      return (err as { code?: string }).code ?? String(err);
    }
  }

  status(): ConvergenceStatus {
    const unfinished = this.store.unfinishedSagas();
    const backlog: Record<string, Record<string, number>> = {};
    for (const f of this.runtime().features.values()) {
      if (f.policy !== 'replicate') continue;
      backlog[f.name] = Object.fromEntries(f.backends.map((b) => [b.name, this.store.backlogSize(f.name, b.name)]));
    }
    return {
      openSagas: unfinished.filter((s) => s.status === 'open').length,
      pendingCompensations: unfinished
        .filter((s) => s.status === 'compensating')
        .map((s) => ({ id: s.id, feature: s.feature, route: s.route, attempts: s.attempts, nextAttemptAt: s.nextAttemptAt, lastError: s.lastError })),
      catchUpBacklog: backlog,
    };
  }
}
