// Keeps the backends of replicated features holding what Foreman was told they hold:
// - the ledger records each successful write's intended value per object key;
// - sagas left open by a crash are finished (every target applied it; one instance only) or
//   compensated;
// - failed compensations are retried with back-off until they succeed;
// - a backend that missed writes (down, rebuilt, newly added) is caught up from the ledger,
//   and is not used for reads of that feature until it has. The lagging marks are shared by
//   the instances of a cluster (lagging-marks.ts), and one instance at a time catches a given
//   backend up or probes it for a reset (a claim per feature and backend).
// A compensation converges a key to the ledger when the ledger knows it, and only falls back to
// the saga's snapshot for state that predates proxy-proxy: a compensation retried late can then
// never undo a newer write.
import type { Backend, SendOptions } from '../backends/backend.js';
import type { BackendAnswer, BackendCall, IncomingCall, RouteSpec } from '../features/route.js';
import type { Logger } from '../ops/logger.js';
import { isStateUnavailable } from '../state/unavailable.js';
import type { Runtime } from '../runtime.js';
import type { LedgerEntry, SagaRecord, SagaSuccess, StateStore } from '../state/store.js';
import type { FeatureInspector } from '../features/drift-inspector.js';
import { KeyLock } from './key-lock.js';
import { LaggingMarks } from './lagging-marks.js';
import { probeReset, type ProbeResult } from './reset-probe.js';
import { rebuildCall } from './rebuild-call.js';
import { Saga, type SagaHost, type SagaStart, type WriteSuccess } from './saga.js';
import { replayRequest, storeCall, storeRequest } from './stored-form.js';
import { isAnswered, sendJudged } from './send-judged.js';

const TICK_MS = 250;
/** A snapshot saying the key held nothing: `restore` then lists what removes the write's effect. */
const ABSENT: BackendAnswer = { status: 404, headers: {}, body: Buffer.alloc(0) };
/** How long a reset probe waits for another instance's catch-up or probe of the same backend. */
const PROBE_CLAIM_WAIT_MS = 30_000;
const CLAIM_RETRY_MS = 250;

/** The claim under which one instance of a cluster catches a backend up on a feature, or probes it. */
export const catchUpClaim = (feature: string, backend: string): string => `catch-up ${feature} ${backend}`;

export interface ConvergenceStatus {
  openSagas: number;
  pendingCompensations: { id: number; feature: string; route: string; attempts: number; nextAttemptAt: number | null; lastError: string | null }[];
  catchUpBacklog: Record<string, Record<string, number>>;
}

export class Convergence implements SagaHost {
  readonly locks = new KeyLock(() => this.store.keyLocks);
  /** Backends behind the ledger, shared with the other instances. */
  readonly lagging: LaggingMarks;
  /**
   * 'feature\0backend' pairs this instance is probing for a reset (or waiting to): it serves
   * them no reads until the probe is done. Across instances the catch-up claim keeps a probe
   * and a catch-up of the same pair apart.
   */
  private readonly probing = new Set<string>();
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private ticking = false;
  private nextTakeOver = 0;
  /** start() has read what it reads from the state (see readState). */
  private stateRead = false;
  /** The state database's last reported unavailability ('' while it answers). */
  private problem = '';

  constructor(
    private readonly openStore: () => StateStore,
    private readonly runtime: () => Runtime,
    readonly logger: Logger,
  ) {
    this.lagging = new LaggingMarks(openStore, logger);
  }

  /** The daemon's state store (opened by its start()). */
  get store(): StateStore {
    return this.openStore();
  }

  /** Keys a write must hold while it runs: its ledger keys, or its path when it has none. */
  lockKeys(feature: string, route: RouteSpec, call: IncomingCall): string[] {
    const changes = route.ledger?.(call, undefined) ?? [];
    return changes.length ? changes.map((c) => `${feature}/${c.key}`) : [`${feature}:${call.path}`];
  }

  /** A replicated write begins: recorded before the first backend call. The caller holds its keys. */
  begin(start: SagaStart): Promise<Saga> {
    return Saga.begin(this, start);
  }

  backend(name: string): Backend | undefined {
    return this.runtime().backends.get(name);
  }

  isLagging(feature: string, backend: string): boolean {
    return this.lagging.has(feature, backend) || this.probing.has(`${feature}\0${backend}`);
  }

  markLagging(feature: string, backend: string): Promise<void> {
    return this.lagging.mark(feature, backend);
  }

  /**
   * The backend lost (or may have lost) what it held of the feature: forget every version it was
   * known to hold, so its backlog is the whole ledger (unverifiable keys included) and it serves
   * no reads of the feature until it has it all again. Returns the backlog size.
   */
  async resync(feature: string, backend: string, why: string): Promise<number> {
    await this.store.forgetApplied(feature, backend);
    await this.markLagging(feature, backend);
    const size = await this.store.backlogSize(feature, backend);
    this.logger.warn(`backend ${backend}: resync of ${feature} from the whole ledger (${size} key(s)): ${why}`, { backend, feature });
    return size;
  }

  /**
   * A backend came back (up again, or enabled): before it serves reads, check that it still
   * holds what it is known to hold, and resync it from the whole ledger when it does not.
   */
  async verifyReturned(backend: Backend, inspectorOf: (feature: string) => FeatureInspector | undefined, timeoutMs: number): Promise<ProbeResult[]> {
    const results: ProbeResult[] = [];
    // Every feature is held back from catch-up from the start, not only the one being probed:
    // a feature caught up while the one before it is probed would refill part of what was lost,
    // and its own check would then find too few keys missing to see the reset.
    const features: { feature: string; inspector: FeatureInspector; id: string }[] = [];
    for (const f of this.runtime().features.values()) {
      const inspector = inspectorOf(f.name);
      if (f.policy !== 'replicate' || !inspector || !f.backends.includes(backend)) continue;
      const id = `${f.name}\0${backend.name}`;
      if (this.probing.has(id)) continue;
      this.probing.add(id);
      features.push({ feature: f.name, inspector, id });
    }
    for (const { feature, inspector, id } of features) {
      try {
        // Not while another instance (or this one) catches it up or probes it: one probe sees
        // the backend as the last catch-up left it.
        const release = await this.holdClaim(catchUpClaim(feature, backend.name), PROBE_CLAIM_WAIT_MS);
        if (!release) {
          if (!this.stopped) this.logger.warn(`backend ${backend.name}: reset check of ${feature} skipped, another instance held it for ${PROBE_CLAIM_WAIT_MS} ms`, { backend: backend.name, feature: feature });
          continue;
        }
        try {
          const r = await probeReset(this.store, inspector, backend, timeoutMs);
          results.push(r);
          if (r.reset) await this.resync(feature, backend.name, `came back without ${r.missing} of ${r.checked} sampled key(s) it held`);
        } finally {
          await release();
        }
      } finally {
        this.probing.delete(id);
      }
    }
    return results;
  }

  /** Holds a claim, trying again for up to `waitMs` while another holds it. */
  private async holdClaim(name: string, waitMs: number): Promise<(() => Promise<void>) | undefined> {
    const until = Date.now() + waitMs;
    for (;;) {
      const release = await this.store.claims.tryHold(name);
      if (release || this.stopped || Date.now() >= until) return release;
      await new Promise((ok) => setTimeout(ok, CLAIM_RETRY_MS));
    }
  }

  /**
   * After a write succeeded: its saga completes with the intended values, who holds them and
   * who missed them (`behind`), in one commit.
   */
  async completeWrite(
    saga: { id: number; feature: string; route: RouteSpec; call: IncomingCall },
    done: WriteSuccess,
  ): Promise<void> {
    const { feature } = saga;
    const ledger: SagaSuccess['ledger'] = [];
    const lagging = new Set(done.behind);
    for (const change of saga.route.ledger?.(saga.call, done.snapshot) ?? []) {
      const request = change.request ? storeCall(change.request, done.requestId) : storeRequest(done.original);
      // A change derived from what was there (DHCP delete by IP → the MACs it held) did to a
      // backend that was behind on the key something else than the change: it is only known
      // to hold the new state where it held the previous one. The others catch up precisely.
      const before = change.request ? ((await this.store.getDesired(feature, change.key))?.version ?? 0) : 0;
      const appliedOn: string[] = [];
      for (const b of done.holders) {
        if (before === 0 || (await this.store.appliedVersion(feature, change.key, b)) >= before) appliedOn.push(b);
        else lagging.add(b);
      }
      ledger.push({ key: change.key, op: change.op, request, appliedOn });
    }
    const success: SagaSuccess = { feature, answerStatus: done.answerStatus, results: done.results, ledger, lagging: [...lagging] };
    await this.lagging.markWith(feature, success.lagging, () => this.store.completeSaga(saga.id, success));
  }

  async start(): Promise<void> {
    this.stopped = false;
    // A state database away at start does not keep the instance from starting: what it would
    // read now is read on the first round that reaches it (nothing can be written before).
    await this.readState().catch((err: Error) => {
      if (!isStateUnavailable(err)) throw err;
      this.problem = err.message;
      this.logger.warn(`convergence: ${err.message}; open sagas and lagging marks are read once it is back`);
    });
    this.timer = setInterval(() => void this.tick(), TICK_MS);
    this.timer.unref();
  }

  /** What a start reads from the state: lagging marks, sagas a crash left open, backlogs. */
  private async readState(): Promise<void> {
    await this.lagging.start();
    await this.recover();
    await this.scanBacklogs();
    this.stateRead = true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.lagging.stop();
  }

  /**
   * Removes the tombstones every backend of their feature holds, in the features that have no
   * write left to settle or undo (a compensation retried later reads the ledger to know a key is
   * gone; without its tombstone it would fall back to a snapshot that may predate the delete).
   * Returns how many.
   */
  async pruneTombstones(): Promise<number> {
    const unsettled = new Set((await this.store.unfinishedSagas()).map((s) => s.feature));
    let pruned = 0;
    for (const f of this.runtime().features.values()) {
      if (f.policy !== 'replicate' || unsettled.has(f.name)) continue;
      pruned += await this.store.pruneTombstones(f.name, f.backends.map((b) => b.name));
    }
    return pruned;
  }

  /** Backends of replicated features that are behind the ledger (e.g. newly added ones). */
  async scanBacklogs(): Promise<void> {
    for (const f of this.runtime().features.values()) {
      if (f.policy !== 'replicate') continue;
      for (const b of f.backends) {
        if ((await this.store.backlogSize(f.name, b.name)) > 0) await this.markLagging(f.name, b.name);
      }
    }
  }

  /**
   * Sagas a crash left open: every target applied it → complete it (and record it in the
   * ledger); otherwise Foreman saw no success, so compensate.
   */
  async recover(): Promise<void> {
    await this.settleClaimed(await this.store.sagasToRecover(), 'found open after a restart');
  }

  /**
   * With a shared state: the unfinished sagas of instances whose lease has expired become this
   * instance's, and their open ones are settled as recover() does. Compensations are retried by
   * retryCompensations, whoever owns them.
   */
  async takeOver(): Promise<number> {
    const claimed = await this.store.claimOrphanedSagas();
    for (const s of claimed) this.logger.warn(`saga ${s.id} (${s.route}, ${s.status}) taken over from an instance whose lease expired`);
    await this.settleClaimed(claimed, 'left open by an instance that is gone');
    return claimed.length;
  }

  /**
   * Settles open sagas under their keys: on a shared state the instance that began one may
   * still be writing it (its lease ran out while it lived), and then has settled it by the time
   * the keys are free; it is read again under them.
   */
  private async settleClaimed(records: SagaRecord[], why: string): Promise<void> {
    for (const claimed of records) {
      if (claimed.status !== 'open') continue;
      const rebuilt = rebuildCall(this.runtime().router, claimed.request);
      const keys = rebuilt ? this.lockKeys(claimed.feature, rebuilt.route, rebuilt.call) : [];
      await this.locks.with(keys, async () => {
        const record = await this.store.getSaga(claimed.id);
        if (record?.status === 'open') await this.settleOpen(record, why);
      });
    }
  }

  private async settleOpen(record: SagaRecord, why: string): Promise<void> {
    const rebuilt = rebuildCall(this.runtime().router, record.request);
    const results = record.targets.map((t) => record.results[t]?.outcome ?? 'pending');
    const applied = record.targets.filter((t) => record.results[t]?.outcome === 'applied');
    const complete = results.every((o) => o === 'applied' || o === 'deferred') && applied.length > 0;
    // On a state several instances share, another one may have written the saga's keys since
    // its owner died (its key locks died with it): completing it would put an older value back
    // in the ledger over a newer one. Foreman never got a success for an open saga (a write is
    // answered once its saga is closed), so there it is undone: its keys converge to the ledger.
    const shared = this.store.keyLocks !== undefined;
    if (complete && rebuilt && !shared) {
      const saga = Saga.fromRecord(this, record, rebuilt);
      // As for a live write: keys that depend on a snapshot are read off a target that is current.
      let basis: string | undefined;
      for (const t of record.targets) {
        if (record.snapshots[t] && (await this.store.backlogSize(record.feature, t)) === 0) {
          basis = t;
          break;
        }
      }
      await saga.complete(undefined, {
        basis: saga.snapshots.get(basis ?? record.targets[0]!),
        requestId: `recover-${record.id}`,
        original: replayRequest(record.request),
        behind: record.targets.filter((t) => record.results[t]?.outcome === 'deferred'),
      });
      this.logger.warn(`saga ${record.id} (${record.route}) ${why}: applied on every target, completed`);
    } else {
      await this.store.setSagaStatus(record.id, 'compensating');
      const state = complete && rebuilt ? 'applied on every target, but its keys may have been written since by another instance' : 'not applied everywhere';
      this.logger.warn(`saga ${record.id} (${record.route}) ${why}: ${state}, compensating`);
    }
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      if (!this.stateRead) await this.readState();
      if (Date.now() >= this.nextTakeOver) {
        this.nextTakeOver = Date.now() + this.runtime().config.state.takeover_interval_ms;
        await this.takeOver();
      }
      await this.retryCompensations();
      await this.catchUp();
      if (this.problem) this.logger.info('convergence: the state database is reachable again');
      this.problem = '';
    } catch (err) {
      // An unreachable database is one line per distinct reason, not four a second.
      if (!isStateUnavailable(err)) this.logger.error(`convergence: ${(err as Error).stack ?? String(err)}`);
      else if ((err as Error).message !== this.problem) this.logger.warn(`convergence: ${(err as Error).message}`);
      if (isStateUnavailable(err)) this.problem = (err as Error).message;
    } finally {
      this.ticking = false;
    }
  }

  private async retryCompensations(): Promise<void> {
    const now = Date.now();
    for (const record of await this.store.unfinishedSagas()) {
      if (record.status !== 'compensating' || (record.nextAttemptAt !== null && record.nextAttemptAt > now)) continue;
      await this.compensate(record);
    }
  }

  /** Undo a saga read back from the log, under its keys. Returns true when it is fully undone. */
  async compensate(record: SagaRecord): Promise<boolean> {
    const rebuilt = rebuildCall(this.runtime().router, record.request);
    if (!rebuilt) {
      await this.store.scheduleRetry(record.id, this.nextAttempt(record.attempts), `no route matches ${record.request.method} ${record.request.path}`);
      return false;
    }
    const keys = this.lockKeys(record.feature, rebuilt.route, rebuilt.call);
    return this.locks.with(keys, async () => {
      // Read again under the lock: the write that began it may have settled it meanwhile.
      const fresh = await this.store.getSaga(record.id);
      if (!fresh || fresh.status !== 'compensating') return fresh?.status === 'compensated';
      return (await Saga.fromRecord(this, fresh, rebuilt).compensate('ledger')).done;
    });
  }

  nextAttempt(attempts: number): number {
    const { base_ms, max_ms } = this.runtime().config.compensation_retry;
    return Date.now() + Math.min(base_ms * 2 ** attempts, max_ms);
  }

  /**
   * Replay the ledger to every lagging backend that is up; it serves reads again when done.
   * The backends are caught up side by side: one that hangs costs the others nothing. One
   * instance of a cluster catches a given backend up (the others skip while it holds the
   * claim), and then every instance hears that the backend is current.
   */
  private async catchUp(): Promise<void> {
    const rt = this.runtime();
    const runs: Promise<void>[] = [];
    for (const { feature, backend: name } of this.lagging.pairs()) {
      const f = rt.features.get(feature);
      const backend = rt.backends.get(name);
      // A pair no longer configured keeps its mark, for an instance that still has it (a reload
      // in progress across the cluster); this one ignores it.
      if (!f || f.policy !== 'replicate' || !backend || !f.backends.includes(backend)) continue;
      if (!backend.health.available || this.probing.has(`${feature}\0${name}`)) continue;
      runs.push(
        (async () => {
          const release = await this.store.claims.tryHold(catchUpClaim(feature, name));
          if (!release) return;
          try {
            // Another instance may have caught it up since this copy of the marks was read.
            if (!(await this.lagging.markedInStore(feature, name))) return;
            if (!(await this.catchUpBackend(feature, backend)) || !(await this.lagging.clear(feature, name))) return;
            // A rollback still to be retried reads the ledger to know a key is gone: without its
            // tombstone it would fall back to a snapshot that may predate the delete.
            if (!(await this.store.unfinishedSagas()).some((s) => s.feature === feature)) await this.store.pruneTombstones(feature, f.backends.map((b) => b.name));
            this.logger.info(`backend ${name} caught up on ${feature}`, { backend: name, feature });
          } finally {
            await release();
          }
        })(),
      );
    }
    await Promise.all(runs);
  }

  /**
   * Returns true when the backend's backlog for the feature is empty. Each replay gets
   * snapshot_timeout_ms, not the response timeout: a backend that hangs holds the key (and the
   * writes waiting on it) no longer than that, and is tried again on a later round.
   */
  async catchUpBackend(feature: string, backend: Backend): Promise<boolean> {
    const opts: SendOptions = { timeoutMs: this.runtime().config.snapshot_timeout_ms };
    for (const entry of await this.store.backlog(feature, backend.name)) {
      const r = await this.locks.with([`${feature}/${entry.key}`], async () => {
        const latest = await this.store.getDesired(feature, entry.key);
        if (!latest || (await this.store.appliedVersion(feature, entry.key, backend.name)) >= latest.version) return true;
        return this.sendEntry(backend, latest, `catch-up-${latest.version}`, opts);
      });
      if (r === true) continue;
      this.logger.warn(`catch-up of ${backend.name} on ${feature} ${entry.key} failed: ${r}`, { backend: backend.name, feature });
      // The ledger keeps one value per key, so a refused entry may wait on a later one (a DHCP
      // address still held there by a reservation the ledger moves further on): go past refusals,
      // retry them next round; stop only when the backend itself fails.
      if (!isAnswered(r)) return false;
    }
    return (await this.store.backlogSize(feature, backend.name)) === 0;
  }

  /** Send a ledger entry; on success the backend is marked as holding its version. */
  async sendEntry(backend: Backend, entry: LedgerEntry, requestId: string, opts: SendOptions = {}): Promise<true | string> {
    // A put can conflict with what the backend already holds for its key: a DHCP create that
    // landed while its answer was lost, or an older reservation for the MAC that the ledger has
    // since replaced. The ledger is the truth for the key: clear it there, then put again.
    const r = await sendJudged(backend, replayRequest(entry.request, requestId), opts, async (answer) =>
      entry.op === 'put' && answer.status === 409 ? ((await this.replaceEntry(backend, entry, requestId, opts)) ?? answer) : answer,
    );
    if (r !== true) return r;
    try {
      await this.store.markApplied(entry.feature, entry.key, backend.name, entry.version);
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

  async sendCall(backend: Backend, call: BackendCall, requestId: string, opts: SendOptions = {}): Promise<true | string> {
    return sendJudged(backend, replayRequest(storeCall(call, requestId)), opts);
  }

  async status(): Promise<ConvergenceStatus> {
    const unfinished = await this.store.unfinishedSagas();
    const backlog: Record<string, Record<string, number>> = {};
    for (const f of this.runtime().features.values()) {
      if (f.policy !== 'replicate') continue;
      const sizes = await Promise.all(f.backends.map(async (b) => [b.name, await this.store.backlogSize(f.name, b.name)] as const));
      backlog[f.name] = Object.fromEntries(sizes);
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
