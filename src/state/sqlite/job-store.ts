// The JobStore on the state file. It opens its own connection rather than sharing the saga
// log's: better-sqlite3 is synchronous, so two connections in one process never wait on each
// other, and the per-connection `synchronous` setting that 'barrier' mode flips stays private
// to each store. State changes are single UPDATEs guarded by the state they start from, so a
// check and its change can never be split by another request. The rows and statements are in
// job-statements.ts; task ids and the queues of hosts are looked up in memory (job-keys.ts).
import type Database from 'better-sqlite3';
import type { MigrateResult } from './migrate.js';
import { openConnection, type ConnectionOptions } from './connection.js';
import { planOutput, splitUpdates, type OutputProgress, type PendingOutput } from '../job-output.js';
import { OneAtATime } from '../one-at-a-time.js';
import { SqliteWriter } from './writer.js';
import { JobKeys } from './job-keys.js';
import { WalSync } from './wal-sync.js';
import { mergePatchFrom } from './input-patch.js';
import {
  FINISHED,
  jobState,
  prepareStatements,
  stateCode,
  toRecord,
  toTarget,
  type ProgressRow,
  type Statements,
} from './job-statements.js';
import {
  EXECUTING_STATES,
  PICKUP_STATES,
  type DoorbellTarget,
  type DueCallback,
  type ExitStatus,
  type HostUpdate,
  type JobRecord,
  type JobState,
  type JobStore,
  type NewJob,
  type NewParent,
  type OutputItem,
  type ParentRecord,
  type JobChanges,
  type JobOp,
  type Settled,
  type UpdateOutcome,
  type DeadlineKind,
  type DueDeadline,
  type TakeOver,
  type DoorbellClaim,
} from '../job-store.js';

/**
 * A host's fetch or update waits at most this long for its commit to begin. Every commit
 * rewrites each page it touched (rows and index pages shared by many jobs), so under load a
 * wider window means fewer pages and fewer syncs per job; a quarter second is nothing to a host
 * whose job takes seconds, and a change after a quiet spell is still committed at once.
 */
const COMMIT_SPACING_MS = 250;
const PICKUP_CODES = PICKUP_STATES.map(stateCode);
const EXECUTING_CODES = EXECUTING_STATES.map(stateCode);
const RUNNING = stateCode('running');

/** The spool's statements, synchronous, each change its own transaction (a savepoint when nested). */
class SyncSpool {
  readonly migrated: MigrateResult;
  readonly db: Database.Database;
  readonly keys = new JobKeys();
  private readonly sql: Statements;
  readonly writer: SqliteWriter;
  /**
   * Callbacks a POST holds: job id → until when. In memory, not in the file: one instance per
   * file, and a restart releases every lease anyway (releaseCallbacks), so a durable lease was a
   * commit per batch rewriting the outbox and its index for nothing.
   */
  private readonly leases = new Map<number, number>();

  constructor(
    readonly file: string,
    options: ConnectionOptions = {},
  ) {
    const { db, migrated } = openConnection(file, options);
    this.db = db;
    this.migrated = migrated;
    try {
      this.sql = prepareStatements(db);
      this.writer = new SqliteWriter(db, (options.synchronous ?? 'barrier') === 'barrier');
      this.keys.load(db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  insertLaunch(parent: NewParent | null, jobs: NewJob[], now: number): { existing: string[] } {
    return this.write(() => {
      // The batch's shared input: its first child's, which the others are stored as patches of.
      const shared = parent ? jobs.find((j) => j.parentId === parent.id)?.input : undefined;
      if (parent) this.sql.insertParent.run(parent.id, parent.operation, shared === undefined ? null : JSON.stringify(shared), now);
      const existing: string[] = [];
      for (const j of jobs) {
        if (this.keys.id(j.taskId) !== undefined) {
          existing.push(j.taskId);
          continue;
        }
        const patch = shared !== undefined && j.parentId === parent!.id ? mergePatchFrom(shared, j.input) : undefined;
        const id = Number(
          this.sql.insertSpec.run(
            j.taskId,
            j.jobUuid,
            j.host,
            j.parentId,
            j.operation,
            j.callback === null || j.callback === undefined ? null : JSON.stringify(j.callback),
            JSON.stringify(patch ?? j.input),
            patch === undefined ? 0 : 1,
            j.effectiveUser,
            j.baseUrl,
            now,
          ).lastInsertRowid,
        );
        this.sql.insertState.run(id, now, j.pickupDue, j.execDue);
        this.sql.insertScript.run(id, j.script);
        this.keys.add(j.taskId, id, j.host);
      }
      return { existing };
    });
  }

  task(taskId: string): JobRecord | undefined {
    const id = this.keys.id(taskId);
    const row = id === undefined ? undefined : this.sql.job.get(id);
    return row && toRecord(row);
  }

  parent(id: string): ParentRecord | undefined {
    const row = this.sql.parent.get(id);
    if (!row) return undefined;
    const counts = this.sql.parentChildren.get(id)!;
    return { id: row.id, operation: row.operation, createdAt: row.created_at, children: counts.n, unfinished: counts.open ?? 0, lastFinishedAt: counts.last };
  }

  output(taskId: string): OutputItem[] {
    const id = this.keys.id(taskId);
    if (id === undefined) return [];
    return this.sql.output.all(id).map((r) => ({ output_type: r.output_type, output: r.output, timestamp: r.at_us / 1e6 }));
  }

  countJobs(which: 'unfinished' | 'finished' | 'all'): number {
    if (which === 'unfinished') return this.sql.countUnfinished.get()!.n;
    if (which === 'finished') return this.sql.countFinished.get()!.n;
    return this.sql.countUnfinished.get()!.n + this.sql.countFinished.get()!.n;
  }

  countByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.sql.countByState.all()) out[jobState(r.state)] = r.n;
    return out;
  }

  finishedCounts(since: number): { failed: number; recent: number } {
    const r = this.sql.finishedCounts.get(since)!;
    return { failed: r.failed ?? 0, recent: r.recent ?? 0 };
  }

  countParents(): number {
    return this.sql.countParents.get()!.n;
  }

  finish(taskId: string, exit: ExitStatus, debugLines: string[], now: number, onlyFrom?: readonly JobState[]): boolean {
    return this.write(() => {
      const row = this.progressOf(taskId);
      if (!row || row.state === FINISHED || (onlyFrom && !onlyFrom.includes(jobState(row.state)))) return false;
      return this.finishRow(row, exit, debugLines.map((line) => ({ type: 'debug', text: line })), undefined, now);
    });
  }

  requestStop(taskId: string, debugLine: string, killDue: number, now: number): boolean {
    return this.write(() => {
      const row = this.progressOf(taskId);
      if (!row || this.sql.requestStop.run(killDue, row.id).changes === 0) return false;
      const at = Math.max(now * 1000, row.last_output_us + 1);
      this.sql.insertOutput.run(row.id, row.output_seq, 'debug', debugLine, at);
      this.sql.setProgress.run(row.state, row.output_state, row.output_seq + 1, row.output_bytes, row.output_truncated, at, row.id);
      return true;
    });
  }

  hostQueue(host: string): string[] {
    const ids = this.keys.queued(host);
    if (ids.length === 0) return [];
    return this.sql.hostQueue.all(JSON.stringify(ids)).map((r) => r.job_uuid);
  }

  deliverable(jobUuid: string, host: string): JobRecord | undefined {
    const row = this.sql.jobByUuid.get(jobUuid);
    return row && row.host === host && PICKUP_CODES.includes(row.state) ? toRecord(row) : undefined;
  }

  deliver(jobUuid: string, host: string, delivery: string, now: number): JobRecord | undefined {
    return this.write(() => {
      const row = this.sql.jobByUuid.get(jobUuid);
      if (!row || row.host !== host || this.sql.deliver.run(delivery, now, now, row.id).changes === 0) return undefined;
      this.keys.dequeue(host, row.id);
      return toRecord({ ...row, state: stateCode('delivered'), output_state: stateCode('delivered'), delivery, delivered_at: now, reported_at: now });
    });
  }

  activeJob(jobUuid: string, host: string): JobRecord | undefined {
    const row = this.sql.jobByUuid.get(jobUuid);
    return row && row.host === host && row.state !== FINISHED ? toRecord(row) : undefined;
  }

  applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number): UpdateOutcome {
    return this.write(() => {
      const row = this.sql.progressByUuid.get(jobUuid);
      if (!row || row.host !== host || !EXECUTING_CODES.includes(row.state) || row.delivery !== delivery) return 'unknown';
      this.sql.heard.run(now, row.id);
      const { outputs, exit } = splitUpdates(updates);
      if (exit) {
        const exitAt = exit.atUs;
        return this.finishRow(row, exit.code, outputs, exitAt, now, maxOutputBytes) ? 'finished' : 'unknown';
      }
      const progress = this.appendOutput(row, outputs, now, maxOutputBytes);
      this.sql.setProgress.run(RUNNING, RUNNING, progress.seq, progress.bytes, progress.truncated, progress.lastUs, row.id);
      return 'accepted';
    });
  }

  inFlight(now: number, silentBefore: number): number {
    return this.sql.inFlight.get(silentBefore, now)!.n;
  }

  markOrphans(restartedAt: number, timeoutMs: number): number {
    return this.write(() => {
      this.sql.reboundOrphans.run(timeoutMs);
      return this.sql.markOrphans.run(restartedAt, restartedAt + timeoutMs).changes;
    });
  }

  dueOrphans(now: number, limit: number): string[] {
    return this.sql.dueOrphans.all(now, limit).map((r) => r.task_id);
  }

  endOrphan(taskId: string, debugLine: string, now: number): boolean {
    return this.write(() => {
      const row = this.progressOf(taskId);
      if (!row || row.orphan_due === null || !EXECUTING_CODES.includes(row.state)) return false;
      if (!this.finishRow(row, 'EXCEPTION', [{ type: 'debug', text: debugLine }], undefined, now)) return false;
      this.sql.cancelAfterEnd.run(row.id);
      return true;
    });
  }

  orphans(limit: number): JobRecord[] {
    return this.sql.orphans.all(limit).map(toRecord);
  }

  dueDoorbells(now: number, limit: number): DoorbellTarget[] {
    return this.sql.dueDoorbells.all(now, limit).map(toTarget);
  }

  markRinging(taskIds: string[], now: number, slotUntil: number, retryAt: number): string[] {
    return this.write(() =>
      taskIds.filter((taskId) => {
        const id = this.keys.id(taskId);
        return id !== undefined && this.sql.markRinging.run(slotUntil, retryAt, id, now).changes > 0;
      }),
    );
  }

  claimDoorbells(c: DoorbellClaim): DoorbellTarget[] {
    // One writer: the count and the claim cannot be split by another.
    return this.write(() => {
      const room = c.rateLimit === null ? c.limit : Math.min(c.limit, c.rateLimit - this.inFlight(c.now, c.silentBefore));
      if (room <= 0) return [];
      const due = this.dueDoorbells(c.now, room);
      const taken = new Set(this.markRinging(due.map((d) => d.taskId), c.now, c.slotUntil, c.retryAt));
      return due.filter((d) => taken.has(d.taskId));
    });
  }

  rescheduleDoorbells(taskIds: string[], at: number): void {
    this.write(() => {
      for (const taskId of taskIds) {
        const id = this.keys.id(taskId);
        if (id !== undefined) this.sql.reschedule.run(at, id);
      }
    });
  }

  dueCancels(limit: number): DoorbellTarget[] {
    return this.sql.dueCancels.all(limit).map(toTarget);
  }

  cancelsPublished(taskIds: string[]): void {
    this.write(() => {
      for (const taskId of taskIds) {
        const id = this.keys.id(taskId);
        if (id !== undefined) this.sql.cancelPublished.run(id);
      }
    });
  }

  duePickups(now: number, limit: number): string[] {
    return this.sql.duePickups.all(now, limit).map((r) => r.task_id);
  }

  dueExecTimeouts(now: number, limit: number): string[] {
    return this.sql.dueExec.all(now, limit).map((r) => r.task_id);
  }

  dueKills(now: number, limit: number): string[] {
    return this.sql.dueKills.all(now, limit).map((r) => r.task_id);
  }

  /** One writer: nothing to lock against. Earliest first, each kind in the order it is handled. */
  claimDeadlines(now: number, limit: number): DueDeadline[] {
    const due = new Map<string, { at: number; kinds: DeadlineKind[] }>();
    const add = (kind: DeadlineKind, rows: { task_id: string; at: number }[]) => {
      for (const r of rows) {
        const d = due.get(r.task_id) ?? { at: r.at, kinds: [] };
        d.at = Math.min(d.at, r.at);
        d.kinds.push(kind);
        due.set(r.task_id, d);
      }
    };
    add('pickup', this.sql.duePickups.all(now, limit));
    add('execution', this.sql.dueExec.all(now, limit));
    add('kill', this.sql.dueKills.all(now, limit));
    add('orphan', this.sql.dueOrphans.all(now, limit));
    return [...due]
      .sort((a, b) => a[1].at - b[1].at || (a[0] < b[0] ? -1 : 1))
      .slice(0, limit)
      .map(([taskId, d]) => ({ taskId, kinds: d.kinds }));
  }

  nextDue(): number | undefined {
    let at = this.sql.nextDue.get()?.at ?? undefined;
    for (const until of this.leases.values()) if (at === undefined || until < at) at = until;
    for (const r of this.sql.earliestCallbacks.iterate(this.leases.size + 1)) {
      if (this.leases.has(r.id)) continue;
      if (at === undefined || r.due < at) at = r.due;
      break;
    }
    return at;
  }

  /** Whether a POST holds this job's callback at `now`. */
  private leased(id: number, now: number): boolean {
    const until = this.leases.get(id);
    return until !== undefined && until > now;
  }

  dueCallbacks(now: number, limit: number): DueCallback[] {
    const out: DueCallback[] = [];
    // Leased rows are still due in the file: read past as many as there are leases.
    for (const r of this.sql.dueCallbacks.all(now, limit + this.leases.size)) {
      if (this.leased(r.id, now)) continue;
      out.push({ taskId: r.task_id, callback: JSON.parse(r.callback) as unknown, attempts: r.attempts });
      if (out.length === limit) break;
    }
    return out;
  }

  releaseCallbacks(now: number): number {
    const held = this.leases.size;
    this.leases.clear();
    return held + this.write(() => this.sql.releaseCallbacks.run(now, now).changes);
  }

  leaseCallbacks(taskIds: string[], now: number, until: number): string[] {
    return taskIds.filter((taskId) => {
      const id = this.keys.id(taskId);
      if (id === undefined || this.leased(id, now)) return false;
      const row = this.sql.callbackDue.get(id);
      if (!row || row.due > now) return false;
      this.leases.set(id, until);
      return true;
    });
  }

  /** Inside the caller's transaction: the rows go, a count of failed POSTs stays with the job. */
  deleteDelivered(ids: number[]): void {
    for (const id of ids) {
      const owed = this.sql.callbackDelivered.get(id);
      if (owed && owed.attempts > 0) this.sql.keepAttempts.run(owed.attempts, id);
    }
  }

  /** Ids of jobs whose callbacks were delivered; their leases hold until the rows are gone. */
  idsOf(taskIds: string[]): number[] {
    const ids: number[] = [];
    for (const taskId of taskIds) {
      const id = this.keys.id(taskId);
      if (id !== undefined) ids.push(id);
    }
    return ids;
  }

  /** The rows are gone (committed): their leases with them. */
  forgetLeases(ids: number[]): void {
    for (const id of ids) this.leases.delete(id);
  }

  callbacksFailed(retries: { taskId: string; retryAt: number }[], error: string, _now: number): void {
    this.write(() => {
      for (const r of retries) {
        const id = this.keys.id(r.taskId);
        if (id !== undefined) this.sql.callbackFailed.run(r.retryAt, error, id);
      }
    });
    for (const r of retries) {
      const id = this.keys.id(r.taskId);
      if (id !== undefined) this.leases.delete(id);
    }
  }

  prune(finishedBefore: number, limit: number): number {
    return this.write(() => {
      const jobs = this.sql.prunable.all(finishedBefore, limit);
      for (const j of jobs) {
        this.sql.pruneOutput.run(j.id);
        this.sql.pruneState.run(j.id);
        this.sql.pruneSpec.run(j.id);
        this.keys.forget(j.task_id);
      }
      this.sql.pruneParents.run(finishedBefore);
      return jobs.length;
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  private progressOf(taskId: string): ProgressRow | undefined {
    const id = this.keys.id(taskId);
    return id === undefined ? undefined : this.sql.progress.get(id);
  }

  /** Appends output after what the job holds, timestamps strictly increasing, within the byte budget. */
  private appendOutput(row: ProgressRow, outputs: PendingOutput[], now: number, maxBytes: number): OutputProgress {
    const from = { seq: row.output_seq, lastUs: row.last_output_us, bytes: row.output_bytes, truncated: row.output_truncated };
    const { rows, progress } = planOutput(from, outputs, now, maxBytes);
    for (const r of rows) this.sql.insertOutput.run(row.id, r.seq, r.type, r.text, r.atUs);
    return progress;
  }

  private finishRow(row: ProgressRow, exit: ExitStatus, outputs: PendingOutput[], exitAtUs: number | undefined, now: number, maxBytes = Infinity): boolean {
    const progress = this.appendOutput(row, outputs, now, maxBytes);
    const exitUs = Math.max(exitAtUs ?? now * 1000, progress.lastUs + 1);
    const changed = this.sql.finish.run(JSON.stringify(exit), exitUs, progress.seq, progress.lastUs, now, row.id).changes;
    if (changed === 0) return false;
    if (!row.no_callback) this.sql.owe.run(row.id, now);
    // Not needed any more, and it may hold secrets.
    this.sql.dropScript.run(row.id);
    if (PICKUP_CODES.includes(row.state)) this.keys.dequeue(row.host, row.id);
    return true;
  }

  /** A transaction of its own, or a savepoint inside one; what it changed in memory goes back with it. */
  private write<T>(fn: () => T): T {
    const mark = this.keys.mark();
    try {
      const out = this.writer.write(fn);
      if (!this.db.inTransaction) this.keys.commit();
      return out;
    } catch (err) {
      this.keys.rollbackTo(mark);
      throw err;
    }
  }
}

/** A change waiting for the next transaction (SqliteJobStore.ride). */
interface Rider {
  change(): unknown;
  committed: (() => void) | undefined;
  outcome?: Settled<unknown>;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** After the transaction: each rider learns its own outcome, or the transaction's failure. */
function settleRiders(riders: Rider[], failed?: Error): void {
  for (const r of riders) {
    const outcome = failed ? { ok: false as const, error: failed } : r.outcome!;
    if (!outcome.ok) {
      r.reject(outcome.error);
      continue;
    }
    r.committed?.();
    r.resolve(outcome.value);
  }
}

/**
 * The JobStore on the state file. better-sqlite3 runs every statement synchronously, so a call
 * that finds the connection free is done before it returns its promise; only a group
 * transaction spans promise turns, and calls arriving meanwhile wait for its commit rather than
 * read its uncommitted rows. A barrier group resolves once the WAL is synced; the next group
 * (rex/group-commit.ts, one at a time here) forms meanwhile, so one sync serves all of it.
 */
export class SqliteJobStore implements JobStore {
  readonly parallelism = 1;
  /** Each commit writes every page it touched whole into the WAL: fewer, fuller commits write less. */
  readonly commitSpacingMs = COMMIT_SPACING_MS;
  readonly migrated: MigrateResult;
  private readonly spool: SyncSpool;
  private readonly turn = new OneAtATime();
  /** 'barrier' mode: barrier commits are synced off the event loop (wal-sync.ts). */
  private readonly walSync: WalSync | undefined;
  private readonly tx: JobChanges;
  /** Changes that go with the next transaction (see ride). */
  private riders: Rider[] = [];
  private riderTimer: NodeJS.Timeout | undefined;
  private riderDeadline = Infinity;
  private readonly control: Record<'begin' | 'savepoint' | 'release' | 'rollbackTo' | 'commit' | 'rollback', Database.Statement>;

  constructor(
    readonly file: string,
    options: ConnectionOptions = {},
  ) {
    this.spool = new SyncSpool(file, options);
    this.migrated = this.spool.migrated;
    this.walSync = (options.synchronous ?? 'barrier') === 'barrier' ? new WalSync(`${file}-wal`) : undefined;
    const db = this.spool.db;
    this.control = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      savepoint: db.prepare('SAVEPOINT job_op'),
      release: db.prepare('RELEASE job_op'),
      rollbackTo: db.prepare('ROLLBACK TO job_op'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
    };
    // Inside transact the transaction is open: the spool's own transactions nest as savepoints.
    const spool = this.spool;
    this.tx = {
      insertLaunch: async (parent, jobs, now) => spool.insertLaunch(parent, jobs, now),
      task: async (taskId) => spool.task(taskId),
      finish: async (taskId, exit, lines, now, onlyFrom) => spool.finish(taskId, exit, lines, now, onlyFrom),
      requestStop: async (taskId, line, killDue, now) => spool.requestStop(taskId, line, killDue, now),
      deliver: async (jobUuid, host, delivery, now) => spool.deliver(jobUuid, host, delivery, now),
      applyUpdates: async (jobUuid, host, delivery, updates, now, max) => spool.applyUpdates(jobUuid, host, delivery, updates, now, max),
      endOrphan: async (taskId, line, now) => spool.endOrphan(taskId, line, now),
      claimDeadlines: async (now, limit) => spool.claimDeadlines(now, limit),
    };
  }

  transact<T>(ops: ReadonlyArray<JobOp<T>>, barrier: boolean): Promise<Settled<T>[]> {
    return this.transactPlanned(async () => ops, barrier);
  }

  transactPlanned<T>(plan: (tx: JobChanges) => Promise<ReadonlyArray<JobOp<T>>>, barrier: boolean): Promise<Settled<T>[]> {
    const committed = this.turn.run(async () => {
      const db = this.spool.db;
      this.control.begin.run();
      const keys = this.spool.keys;
      const settled: Settled<T>[] = [];
      const riders = this.takeRiders();
      try {
        this.runRiders(riders);
        for (const op of await plan(this.tx)) {
          this.control.savepoint.run();
          const mark = keys.mark();
          try {
            settled.push({ ok: true, value: await op(this.tx) });
            this.control.release.run();
          } catch (error) {
            this.control.rollbackTo.run();
            this.control.release.run();
            keys.rollbackTo(mark);
            settled.push({ ok: false, error: error instanceof Error ? error : new Error(String(error)) });
          }
        }
        this.control.commit.run();
        keys.commit();
      } catch (err) {
        if (db.inTransaction) this.control.rollback.run();
        keys.rollbackTo(0);
        settleRiders(riders, err as Error);
        throw err;
      }
      settleRiders(riders);
      return settled;
    });
    // The sync runs after the connection is free again: other calls go on meanwhile.
    return barrier && this.walSync ? committed.then(async (settled) => (await this.walSync!.sync(), settled)) : committed;
  }

  insertLaunch(parent: NewParent | null, jobs: NewJob[], now: number) {
    return this.turn.run(() => this.spool.insertLaunch(parent, jobs, now));
  }
  task(taskId: string) {
    return this.turn.run(() => this.spool.task(taskId));
  }
  finish(taskId: string, exit: ExitStatus, debugLines: string[], now: number, onlyFrom?: readonly JobState[]) {
    return this.turn.run(() => this.spool.finish(taskId, exit, debugLines, now, onlyFrom));
  }
  requestStop(taskId: string, debugLine: string, killDue: number, now: number) {
    return this.turn.run(() => this.spool.requestStop(taskId, debugLine, killDue, now));
  }
  deliver(jobUuid: string, host: string, delivery: string, now: number) {
    return this.turn.run(() => this.spool.deliver(jobUuid, host, delivery, now));
  }
  applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number) {
    return this.turn.run(() => this.spool.applyUpdates(jobUuid, host, delivery, updates, now, maxOutputBytes));
  }
  parent(id: string) {
    return this.turn.run(() => this.spool.parent(id));
  }
  output(taskId: string) {
    return this.turn.run(() => this.spool.output(taskId));
  }
  jobsWithOutput(taskIds: string[]) {
    return this.turn.run(() => {
      const out = new Map<string, { job: JobRecord; output: OutputItem[] }>();
      for (const id of taskIds) {
        const job = this.spool.task(id);
        if (job) out.set(id, { job, output: this.spool.output(id) });
      }
      return out;
    });
  }
  countJobs(which: 'unfinished' | 'finished' | 'all') {
    return this.turn.run(() => this.spool.countJobs(which));
  }
  releaseCallbacks(now: number) {
    return this.turn.run(() => this.spool.releaseCallbacks(now));
  }
  /** One instance per file: nobody else's work to take over. */
  async takeOver(): Promise<TakeOver> {
    return { orphaned: 0, callbacks: 0, doorbells: 0 };
  }
  claimDeadlines(now: number, limit: number) {
    return this.turn.run(() => this.spool.claimDeadlines(now, limit));
  }
  countByState() {
    return this.turn.run(() => this.spool.countByState());
  }
  finishedCounts(since: number) {
    return this.turn.run(() => this.spool.finishedCounts(since));
  }
  countParents() {
    return this.turn.run(() => this.spool.countParents());
  }
  hostQueue(host: string) {
    return this.turn.run(() => this.spool.hostQueue(host));
  }
  deliverable(jobUuid: string, host: string) {
    return this.turn.run(() => this.spool.deliverable(jobUuid, host));
  }
  activeJob(jobUuid: string, host: string) {
    return this.turn.run(() => this.spool.activeJob(jobUuid, host));
  }
  inFlight(now: number, silentBefore: number) {
    return this.turn.run(() => this.spool.inFlight(now, silentBefore));
  }
  markOrphans(restartedAt: number, timeoutMs: number) {
    return this.turn.run(() => this.spool.markOrphans(restartedAt, timeoutMs));
  }
  dueOrphans(now: number, limit: number) {
    return this.turn.run(() => this.spool.dueOrphans(now, limit));
  }
  endOrphan(taskId: string, debugLine: string, now: number) {
    return this.turn.run(() => this.spool.endOrphan(taskId, debugLine, now));
  }
  orphans(limit: number) {
    return this.turn.run(() => this.spool.orphans(limit));
  }
  dueDoorbells(now: number, limit: number) {
    return this.turn.run(() => this.spool.dueDoorbells(now, limit));
  }
  markRinging(taskIds: string[], now: number, slotUntil: number, retryAt: number) {
    return this.turn.run(() => this.spool.markRinging(taskIds, now, slotUntil, retryAt));
  }
  rescheduleDoorbells(taskIds: string[], at: number) {
    return this.turn.run(() => this.spool.rescheduleDoorbells(taskIds, at));
  }
  dueCancels(limit: number) {
    return this.turn.run(() => this.spool.dueCancels(limit));
  }
  cancelsPublished(taskIds: string[]) {
    return this.turn.run(() => this.spool.cancelsPublished(taskIds));
  }
  duePickups(now: number, limit: number) {
    return this.turn.run(() => this.spool.duePickups(now, limit));
  }
  dueExecTimeouts(now: number, limit: number) {
    return this.turn.run(() => this.spool.dueExecTimeouts(now, limit));
  }
  dueKills(now: number, limit: number) {
    return this.turn.run(() => this.spool.dueKills(now, limit));
  }
  nextDue() {
    return this.turn.run(() => this.spool.nextDue());
  }
  dueCallbacks(now: number, limit: number) {
    return this.turn.run(() => this.spool.dueCallbacks(now, limit));
  }
  leaseCallbacks(taskIds: string[], now: number, until: number) {
    return this.turn.run(() => this.spool.leaseCallbacks(taskIds, now, until));
  }
  /**
   * Foreman has these results: their outbox rows go with the next transaction, which under load
   * is the next group commit (rex/group-commit.ts) already rewriting the outbox's pages for the
   * results it owes, or after two commit spacings (when none came) on their own. Resolves once
   * that is committed. Until then the rows stay leased, so nobody sends them again; lost in a
   * crash, they are sent again after the restart, as they would be had the crash come just
   * before this call.
   */
  callbacksDelivered(taskIds: string[], _now: number): Promise<void> {
    const ids = this.spool.idsOf(taskIds);
    if (ids.length === 0) return Promise.resolve();
    return this.ride(
      () => this.spool.deleteDelivered(ids),
      2 * COMMIT_SPACING_MS,
      () => this.spool.forgetLeases(ids),
    );
  }

  claimDoorbells(claim: DoorbellClaim) {
    return this.turn.run(() => this.spool.claimDoorbells(claim));
  }

  /**
   * Runs `change` at the start of the next transaction (each in a savepoint of its own: one that
   * throws fails alone), or in one of its own after `waitMs` if no transaction came by then.
   * Resolves once it is committed; `committed` runs first.
   */
  private ride<T>(change: () => T, waitMs: number, committed?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.riders.push({ change, committed, resolve: resolve as (v: unknown) => void, reject });
      const deadline = performance.now() + waitMs;
      if (deadline >= this.riderDeadline) return;
      if (this.riderTimer) clearTimeout(this.riderTimer);
      this.riderDeadline = deadline;
      this.riderTimer = setTimeout(() => {
        this.riderTimer = undefined;
        this.riderDeadline = Infinity;
        void this.flushRiders();
      }, waitMs);
    });
  }

  /** What no transaction took in time, in one of its own. */
  private flushRiders(): Promise<void> {
    return this.turn.run(() => {
      const riders = this.takeRiders();
      if (riders.length === 0) return;
      try {
        this.spool.writer.write(() => this.runRiders(riders));
      } catch (err) {
        settleRiders(riders, err as Error);
        return;
      }
      settleRiders(riders);
    });
  }

  private takeRiders(): Rider[] {
    const taken = this.riders;
    this.riders = [];
    if (this.riderTimer) clearTimeout(this.riderTimer);
    this.riderTimer = undefined;
    this.riderDeadline = Infinity;
    return taken;
  }

  /** Inside an open transaction. */
  private runRiders(riders: Rider[]): void {
    for (const r of riders) {
      this.control.savepoint.run();
      try {
        r.outcome = { ok: true, value: r.change() };
        this.control.release.run();
      } catch (error) {
        this.control.rollbackTo.run();
        this.control.release.run();
        r.outcome = { ok: false, error: error instanceof Error ? error : new Error(String(error)) };
      }
    }
  }

  callbacksFailed(retries: { taskId: string; retryAt: number }[], error: string, now: number) {
    return this.turn.run(() => this.spool.callbacksFailed(retries, error, now));
  }
  prune(finishedBefore: number, limit: number) {
    return this.turn.run(() => this.spool.prune(finishedBefore, limit));
  }
  async close() {
    await this.flushRiders();
    await this.turn.run(() => this.spool.close());
    await this.walSync?.close();
  }
}

