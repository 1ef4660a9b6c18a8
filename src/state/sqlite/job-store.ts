// The JobStore on the state file. It opens its own connection rather than sharing the saga
// log's: better-sqlite3 is synchronous, so two connections in one process never wait on each
// other, and the per-connection `synchronous` setting that 'barrier' mode flips stays private
// to each store. State changes are single UPDATEs guarded by the state they start from, so a
// check and its change can never be split by another request.
import type Database from 'better-sqlite3';
import type { MigrateResult } from './migrate.js';
import { openConnection, type ConnectionOptions } from './connection.js';
import { planOutput, splitUpdates, type OutputProgress, type PendingOutput } from '../job-output.js';
import { OneAtATime } from '../one-at-a-time.js';
import { SqliteWriter } from './writer.js';
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

interface JobRow {
  task_id: string;
  parent_id: string | null;
  job_uuid: string;
  host: string;
  operation: string;
  callback: string | null;
  input: string;
  script: string;
  effective_user: string | null;
  base_url: string;
  state: JobState;
  output_state: JobState;
  delivery: string | null;
  exit_status: string | null;
  exit_us: number | null;
  output_seq: number;
  output_bytes: number;
  output_truncated: number;
  last_output_us: number;
  kill_due: number | null;
  callback_state: JobRecord['callbackState'];
  callback_attempts: number;
  callback_error: string | null;
  created_at: number;
  delivered_at: number | null;
  finished_at: number | null;
  reported_at: number | null;
  orphan_since: number | null;
  orphan_due: number | null;
}

interface TargetRow {
  task_id: string;
  job_uuid: string;
  host: string;
  base_url: string;
  effective_user: string | null;
  doorbells: number;
}

const JOB_COLUMNS =
  'task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url, state, output_state, delivery, ' +
  'exit_status, exit_us, output_seq, output_bytes, output_truncated, last_output_us, kill_due, callback_state, callback_attempts, ' +
  'callback_error, created_at, delivered_at, finished_at, reported_at, orphan_since, orphan_due';
const TARGET_COLUMNS = 'task_id, job_uuid, host, base_url, effective_user, doorbells';
const sqlList = (states: readonly string[]) => `(${states.map((s) => `'${s}'`).join(', ')})`;
const PICKUP = sqlList(PICKUP_STATES);
const EXECUTING = sqlList(EXECUTING_STATES);

function prepareStatements(db: Database.Database) {
  return {
    insertParent: db.prepare<[string, string, number]>('INSERT INTO rex_parents (id, operation, created_at) VALUES (?, ?, ?)'),
    jobExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM rex_jobs WHERE task_id = ?'),
    insertJob: db.prepare<
      [string, string | null, string, string, string, string | null, string, string, string | null, string, number | null, number | null, number, number, number]
    >(
      `INSERT INTO rex_jobs (task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url,
         pickup_due, exec_due, notify_at, created_at, updated_at, state, output_state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ready_for_pickup', 'ready_for_pickup')`,
    ),
    task: db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE task_id = ?`),
    byUuid: db.prepare<[string], JobRow>(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE job_uuid = ?`),
    parent: db.prepare<[string], { id: string; operation: string; created_at: number }>('SELECT id, operation, created_at FROM rex_parents WHERE id = ?'),
    parentChildren: db.prepare<[string], { n: number; open: number | null; last: number | null }>(
      "SELECT COUNT(*) AS n, SUM(state <> 'finished') AS open, MAX(finished_at) AS last FROM rex_jobs WHERE parent_id = ?",
    ),
    output: db.prepare<[string], { output_type: string; output: string; at_us: number }>(
      'SELECT output_type, output, at_us FROM rex_output WHERE task_id = ? ORDER BY seq',
    ),
    countUnfinished: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM rex_jobs WHERE state <> 'finished'"),
    countFinished: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM rex_jobs WHERE state = 'finished'"),
    countParents: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM rex_parents'),
    countByState: db.prepare<[], { state: string; n: number }>('SELECT state, COUNT(*) AS n FROM rex_jobs GROUP BY state'),
    finishedCounts: db.prepare<[number], { failed: number | null; recent: number | null }>(
      "SELECT SUM(exit_status <> '0') AS failed, SUM(finished_at >= ?) AS recent FROM rex_jobs WHERE state = 'finished'",
    ),
    insertOutput: db.prepare<[string, number, string, string, number]>(
      'INSERT INTO rex_output (task_id, seq, output_type, output, at_us) VALUES (?, ?, ?, ?, ?)',
    ),
    setProgress: db.prepare<[JobState, JobState, number, number, number, number, number, string]>(
      'UPDATE rex_jobs SET state = ?, output_state = ?, output_seq = ?, output_bytes = ?, output_truncated = ?, last_output_us = ?, updated_at = ? WHERE task_id = ?',
    ),
    // Right-hand sides read the row as it was: output_state takes the state before 'finished'.
    finish: db.prepare<[string, number, number, number, number, number, number, string]>(
      `UPDATE rex_jobs SET output_state = state, state = 'finished', exit_status = ?, exit_us = ?, output_seq = ?, last_output_us = ?,
         finished_at = ?, updated_at = ?, script = '', notify_at = NULL, slot_until = NULL, pickup_due = NULL, exec_due = NULL,
         kill_due = NULL, cancel_publish = 0, orphan_due = NULL,
         callback_state = CASE WHEN callback IS NULL THEN 'none' ELSE 'pending' END,
         callback_due = CASE WHEN callback IS NULL THEN NULL ELSE ? END
       WHERE task_id = ? AND state <> 'finished'`,
    ),
    requestStop: db.prepare<[number, number, string]>(
      `UPDATE rex_jobs SET cancel_publish = 1, exec_due = NULL, kill_due = ?, updated_at = ?
       WHERE task_id = ? AND state IN ${EXECUTING} AND kill_due IS NULL`,
    ),
    hostQueue: db.prepare<[string], { job_uuid: string }>(
      `SELECT job_uuid FROM rex_jobs WHERE host = ? AND state IN ${PICKUP} ORDER BY created_at, rowid`,
    ),
    deliverable: db.prepare<[string, string], JobRow>(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE job_uuid = ? AND host = ? AND state IN ${PICKUP}`),
    deliver: db.prepare<[string, number, number, number, string, string]>(
      `UPDATE rex_jobs SET state = 'delivered', output_state = 'delivered', delivery = ?, delivered_at = ?, updated_at = ?, reported_at = ?,
         notify_at = NULL, slot_until = NULL, pickup_due = NULL
       WHERE job_uuid = ? AND host = ? AND state IN ${PICKUP}`,
    ),
    inFlight: db.prepare<[number, number], { n: number }>(
      `SELECT (SELECT COUNT(*) FROM rex_jobs WHERE state IN ${EXECUTING} AND orphan_since IS NULL AND COALESCE(reported_at, updated_at) >= ?)
         + (SELECT COUNT(*) FROM rex_jobs WHERE slot_until > ?) AS n`,
    ),
    heard: db.prepare<[number, string]>('UPDATE rex_jobs SET reported_at = ?, orphan_since = NULL, orphan_due = NULL WHERE task_id = ?'),
    markOrphans: db.prepare<[number, number]>(
      `UPDATE rex_jobs SET orphan_since = ?, orphan_due = ? WHERE state IN ${EXECUTING} AND orphan_since IS NULL`,
    ),
    // Orphans of an earlier restart keep their start, and take the bound configured now.
    reboundOrphans: db.prepare<[number]>('UPDATE rex_jobs SET orphan_due = orphan_since + ? WHERE orphan_due IS NOT NULL'),
    dueOrphans: db.prepare<[number, number], { task_id: string; at: number }>('SELECT task_id, orphan_due AS at FROM rex_jobs WHERE orphan_due <= ? ORDER BY orphan_due, task_id LIMIT ?'),
    orphans: db.prepare<[number], JobRow>(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE orphan_due IS NOT NULL ORDER BY orphan_due, rowid LIMIT ?`),
    cancelAfterEnd: db.prepare<[string]>('UPDATE rex_jobs SET cancel_publish = 1 WHERE task_id = ?'),
    dueDoorbells: db.prepare<[number, number], TargetRow>(
      `SELECT ${TARGET_COLUMNS} FROM rex_jobs WHERE notify_at <= ? ORDER BY notify_at, rowid LIMIT ?`,
    ),
    markRinging: db.prepare<[number, number, number, string, number]>(
      `UPDATE rex_jobs SET state = CASE WHEN state = 'ready_for_pickup' THEN 'notified' ELSE state END,
         output_state = CASE WHEN state = 'ready_for_pickup' THEN 'notified' ELSE state END,
         slot_until = ?, notify_at = ?, doorbells = doorbells + 1, updated_at = ?
       WHERE task_id = ? AND notify_at <= ?`,
    ),
    reschedule: db.prepare<[number, string]>('UPDATE rex_jobs SET notify_at = ? WHERE task_id = ? AND notify_at IS NOT NULL'),
    dueCancels: db.prepare<[number], TargetRow>(`SELECT ${TARGET_COLUMNS} FROM rex_jobs WHERE cancel_publish = 1 LIMIT ?`),
    cancelPublished: db.prepare<[string]>('UPDATE rex_jobs SET cancel_publish = 0 WHERE task_id = ? AND cancel_publish = 1'),
    duePickups: db.prepare<[number, number], { task_id: string; at: number }>('SELECT task_id, pickup_due AS at FROM rex_jobs WHERE pickup_due <= ? ORDER BY pickup_due, task_id LIMIT ?'),
    dueExec: db.prepare<[number, number], { task_id: string; at: number }>('SELECT task_id, exec_due AS at FROM rex_jobs WHERE exec_due <= ? ORDER BY exec_due, task_id LIMIT ?'),
    dueKills: db.prepare<[number, number], { task_id: string; at: number }>('SELECT task_id, kill_due AS at FROM rex_jobs WHERE kill_due <= ? ORDER BY kill_due, task_id LIMIT ?'),
    nextDue: db.prepare<[], { at: number | null }>(
      `SELECT MIN(at) AS at FROM (
         SELECT MIN(pickup_due) AS at FROM rex_jobs WHERE pickup_due IS NOT NULL
         UNION ALL SELECT MIN(exec_due) FROM rex_jobs WHERE exec_due IS NOT NULL
         UNION ALL SELECT MIN(kill_due) FROM rex_jobs WHERE kill_due IS NOT NULL
         UNION ALL SELECT MIN(orphan_due) FROM rex_jobs WHERE orphan_due IS NOT NULL
         UNION ALL SELECT MIN(notify_at) FROM rex_jobs WHERE notify_at IS NOT NULL
         UNION ALL SELECT MIN(callback_due) FROM rex_jobs WHERE callback_state = 'pending')`,
    ),
    dueCallbacks: db.prepare<[number, number], { task_id: string; callback: string; callback_attempts: number }>(
      `SELECT task_id, callback, callback_attempts FROM rex_jobs WHERE callback_state = 'pending' AND callback_due <= ?
       ORDER BY callback_due LIMIT ?`,
    ),
    releaseCallbacks: db.prepare<[number, number]>("UPDATE rex_jobs SET callback_due = ? WHERE callback_state = 'pending' AND callback_due > ?"),
    leaseCallback: db.prepare<[number, string, number]>("UPDATE rex_jobs SET callback_due = ? WHERE task_id = ? AND callback_state = 'pending' AND callback_due <= ?"),
    callbackDelivered: db.prepare<[number, string]>(
      "UPDATE rex_jobs SET callback_state = 'done', callback_due = NULL, callback_error = NULL, updated_at = ? WHERE task_id = ? AND callback_state = 'pending'",
    ),
    callbackFailed: db.prepare<[number, string, number, string]>(
      `UPDATE rex_jobs SET callback_due = ?, callback_attempts = callback_attempts + 1, callback_error = ?, updated_at = ?
       WHERE task_id = ? AND callback_state = 'pending'`,
    ),
    pruneJobs: db.prepare<[number, number]>(
      `DELETE FROM rex_jobs WHERE task_id IN (
         SELECT task_id FROM rex_jobs WHERE finished_at < ? AND callback_state <> 'pending' LIMIT ?)`,
    ),
    pruneParents: db.prepare<[number]>(
      'DELETE FROM rex_parents WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM rex_jobs WHERE parent_id = rex_parents.id)',
    ),
  };
}

/** The spool's statements, synchronous, each change its own transaction (a savepoint when nested). */
class SyncSpool {
  readonly migrated: MigrateResult;
  readonly db: Database.Database;
  private readonly sql: ReturnType<typeof prepareStatements>;
  readonly writer: SqliteWriter;

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
    } catch (err) {
      db.close();
      throw err;
    }
  }

  insertLaunch(parent: NewParent | null, jobs: NewJob[], now: number): { existing: string[] } {
    return this.write(() => {
      if (parent) this.sql.insertParent.run(parent.id, parent.operation, now);
      const existing: string[] = [];
      for (const j of jobs) {
        if (this.sql.jobExists.get(j.taskId)) {
          existing.push(j.taskId);
          continue;
        }
        this.sql.insertJob.run(
          j.taskId,
          j.parentId,
          j.jobUuid,
          j.host,
          j.operation,
          j.callback === null || j.callback === undefined ? null : JSON.stringify(j.callback),
          JSON.stringify(j.input),
          j.script,
          j.effectiveUser,
          j.baseUrl,
          j.pickupDue,
          j.execDue,
          now,
          now,
          now,
        );
      }
      return { existing };
    });
  }

  task(taskId: string): JobRecord | undefined {
    const row = this.sql.task.get(taskId);
    return row && toRecord(row);
  }

  parent(id: string): ParentRecord | undefined {
    const row = this.sql.parent.get(id);
    if (!row) return undefined;
    const counts = this.sql.parentChildren.get(id)!;
    return { id: row.id, operation: row.operation, createdAt: row.created_at, children: counts.n, unfinished: counts.open ?? 0, lastFinishedAt: counts.last };
  }

  output(taskId: string): OutputItem[] {
    return this.sql.output.all(taskId).map((r) => ({ output_type: r.output_type, output: r.output, timestamp: r.at_us / 1e6 }));
  }

  countJobs(which: 'unfinished' | 'finished' | 'all'): number {
    if (which === 'unfinished') return this.sql.countUnfinished.get()!.n;
    if (which === 'finished') return this.sql.countFinished.get()!.n;
    return this.sql.countUnfinished.get()!.n + this.sql.countFinished.get()!.n;
  }

  countByState(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.sql.countByState.all()) out[r.state] = r.n;
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
      const row = this.sql.task.get(taskId);
      if (!row || row.state === 'finished' || (onlyFrom && !onlyFrom.includes(row.state))) return false;
      return this.finishRow(row, exit, debugLines.map((line) => ({ type: 'debug', text: line })), undefined, now);
    });
  }

  requestStop(taskId: string, debugLine: string, killDue: number, now: number): boolean {
    return this.write(() => {
      const row = this.sql.task.get(taskId);
      if (!row || this.sql.requestStop.run(killDue, now, taskId).changes === 0) return false;
      const at = Math.max(now * 1000, row.last_output_us + 1);
      this.sql.insertOutput.run(taskId, row.output_seq, 'debug', debugLine, at);
      this.sql.setProgress.run(row.state, row.output_state, row.output_seq + 1, row.output_bytes, row.output_truncated, at, now, taskId);
      return true;
    });
  }

  hostQueue(host: string): string[] {
    return this.sql.hostQueue.all(host).map((r) => r.job_uuid);
  }

  deliverable(jobUuid: string, host: string): JobRecord | undefined {
    const row = this.sql.deliverable.get(jobUuid, host);
    return row && toRecord(row);
  }

  deliver(jobUuid: string, host: string, delivery: string, now: number): JobRecord | undefined {
    return this.write(() => {
      if (this.sql.deliver.run(delivery, now, now, now, jobUuid, host).changes === 0) return undefined;
      return toRecord(this.sql.byUuid.get(jobUuid)!);
    });
  }

  activeJob(jobUuid: string, host: string): JobRecord | undefined {
    const row = this.sql.byUuid.get(jobUuid);
    return row && row.host === host && row.state !== 'finished' ? toRecord(row) : undefined;
  }

  applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number): UpdateOutcome {
    return this.write(() => {
      const row = this.sql.byUuid.get(jobUuid);
      if (!row || row.host !== host || !EXECUTING_STATES.includes(row.state) || row.delivery !== delivery) return 'unknown';
      this.sql.heard.run(now, row.task_id);
      const { outputs, exit } = splitUpdates(updates);
      if (exit) {
        const exitAt = exit.atUs;
        return this.finishRow(row, exit.code, outputs, exitAt, now, maxOutputBytes) ? 'finished' : 'unknown';
      }
      const progress = this.appendOutput(row, outputs, now, maxOutputBytes);
      this.sql.setProgress.run('running', 'running', progress.seq, progress.bytes, progress.truncated, progress.lastUs, now, row.task_id);
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
      const row = this.sql.task.get(taskId);
      if (!row || row.orphan_due === null || !EXECUTING_STATES.includes(row.state)) return false;
      if (!this.finishRow(row, 'EXCEPTION', [{ type: 'debug', text: debugLine }], undefined, now)) return false;
      this.sql.cancelAfterEnd.run(taskId);
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
    return this.write(() => taskIds.filter((id) => this.sql.markRinging.run(slotUntil, retryAt, now, id, now).changes > 0));
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
      for (const id of taskIds) this.sql.reschedule.run(at, id);
    });
  }

  dueCancels(limit: number): DoorbellTarget[] {
    return this.sql.dueCancels.all(limit).map(toTarget);
  }

  cancelsPublished(taskIds: string[]): void {
    this.write(() => {
      for (const id of taskIds) this.sql.cancelPublished.run(id);
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
    return this.sql.nextDue.get()?.at ?? undefined;
  }

  dueCallbacks(now: number, limit: number): DueCallback[] {
    return this.sql.dueCallbacks.all(now, limit).map((r) => ({ taskId: r.task_id, callback: JSON.parse(r.callback) as unknown, attempts: r.callback_attempts }));
  }

  releaseCallbacks(now: number): number {
    return this.write(() => this.sql.releaseCallbacks.run(now, now).changes);
  }

  leaseCallbacks(taskIds: string[], now: number, until: number): string[] {
    return this.write(() => taskIds.filter((id) => this.sql.leaseCallback.run(until, id, now).changes > 0));
  }

  callbacksDelivered(taskIds: string[], now: number): void {
    this.write(() => {
      for (const id of taskIds) this.sql.callbackDelivered.run(now, id);
    });
  }

  callbacksFailed(retries: { taskId: string; retryAt: number }[], error: string, now: number): void {
    this.write(() => {
      for (const r of retries) this.sql.callbackFailed.run(r.retryAt, error, now, r.taskId);
    });
  }

  prune(finishedBefore: number, limit: number): number {
    return this.write(() => {
      const jobs = this.sql.pruneJobs.run(finishedBefore, limit).changes;
      this.sql.pruneParents.run(finishedBefore);
      return jobs;
    });
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Appends output after what the job holds, timestamps strictly increasing, within the byte budget. */
  private appendOutput(row: JobRow, outputs: PendingOutput[], now: number, maxBytes: number): OutputProgress {
    const from = { seq: row.output_seq, lastUs: row.last_output_us, bytes: row.output_bytes, truncated: row.output_truncated };
    const { rows, progress } = planOutput(from, outputs, now, maxBytes);
    for (const r of rows) this.sql.insertOutput.run(row.task_id, r.seq, r.type, r.text, r.atUs);
    return progress;
  }

  private finishRow(row: JobRow, exit: ExitStatus, outputs: PendingOutput[], exitAtUs: number | undefined, now: number, maxBytes = Infinity): boolean {
    const progress = this.appendOutput(row, outputs, now, maxBytes);
    const exitUs = Math.max(exitAtUs ?? now * 1000, progress.lastUs + 1);
    const changed = this.sql.finish.run(JSON.stringify(exit), exitUs, progress.seq, progress.lastUs, now, now, now, row.task_id).changes;
    return changed > 0;
  }

  private write<T>(fn: () => T): T {
    return this.writer.write(fn);
  }
}

/**
 * The JobStore on the state file. better-sqlite3 runs every statement synchronously, so a call
 * that finds the connection free is done before it returns its promise; only a group
 * transaction spans promise turns, and calls arriving meanwhile wait for its commit rather than
 * read its uncommitted rows.
 */
export class SqliteJobStore implements JobStore {
  readonly parallelism = 1;
  readonly migrated: MigrateResult;
  private readonly spool: SyncSpool;
  private readonly turn = new OneAtATime();
  private readonly barriers: boolean;
  private readonly tx: JobChanges;
  private readonly control: Record<'begin' | 'savepoint' | 'release' | 'rollbackTo' | 'commit' | 'rollback', Database.Statement>;

  constructor(
    readonly file: string,
    options: ConnectionOptions = {},
  ) {
    this.spool = new SyncSpool(file, options);
    this.migrated = this.spool.migrated;
    this.barriers = (options.synchronous ?? 'barrier') === 'barrier';
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
    return this.turn.run(async () => {
      const db = this.spool.db;
      const durable = barrier && this.barriers;
      // Acts from the next commit on and is refused inside a transaction (see SqliteWriter).
      if (durable) db.pragma('synchronous = FULL');
      try {
        this.control.begin.run();
        const settled: Settled<T>[] = [];
        try {
          for (const op of await plan(this.tx)) {
            this.control.savepoint.run();
            try {
              settled.push({ ok: true, value: await op(this.tx) });
              this.control.release.run();
            } catch (error) {
              this.control.rollbackTo.run();
              this.control.release.run();
              settled.push({ ok: false, error: error instanceof Error ? error : new Error(String(error)) });
            }
          }
          this.control.commit.run();
        } catch (err) {
          if (db.inTransaction) this.control.rollback.run();
          throw err;
        }
        return settled;
      } finally {
        if (durable) db.pragma('synchronous = NORMAL');
      }
    });
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
  claimDoorbells(claim: DoorbellClaim) {
    return this.turn.run(() => this.spool.claimDoorbells(claim));
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
  callbacksDelivered(taskIds: string[], now: number) {
    return this.turn.run(() => this.spool.callbacksDelivered(taskIds, now));
  }
  callbacksFailed(retries: { taskId: string; retryAt: number }[], error: string, now: number) {
    return this.turn.run(() => this.spool.callbacksFailed(retries, error, now));
  }
  prune(finishedBefore: number, limit: number) {
    return this.turn.run(() => this.spool.prune(finishedBefore, limit));
  }
  close() {
    return this.turn.run(() => this.spool.close());
  }
}


function toTarget(r: TargetRow): DoorbellTarget {
  return { taskId: r.task_id, jobUuid: r.job_uuid, host: r.host, baseUrl: r.base_url, effectiveUser: r.effective_user, rung: r.doorbells };
}

function toRecord(r: JobRow): JobRecord {
  return {
    taskId: r.task_id,
    parentId: r.parent_id,
    jobUuid: r.job_uuid,
    host: r.host,
    operation: r.operation,
    callback: r.callback === null ? null : (JSON.parse(r.callback) as unknown),
    input: JSON.parse(r.input) as Record<string, unknown>,
    script: r.script,
    effectiveUser: r.effective_user,
    baseUrl: r.base_url,
    state: r.state,
    outputState: r.output_state,
    delivery: r.delivery,
    exitStatus: r.exit_status === null ? null : (JSON.parse(r.exit_status) as ExitStatus),
    exitAt: r.exit_us === null ? null : r.exit_us / 1e6,
    stopping: r.kill_due !== null,
    callbackState: r.callback_state,
    callbackAttempts: r.callback_attempts,
    callbackError: r.callback_error,
    createdAt: r.created_at,
    deliveredAt: r.delivered_at,
    finishedAt: r.finished_at,
    reportedAt: r.reported_at,
    orphanSince: r.orphan_since,
    orphanDue: r.orphan_due,
  };
}
