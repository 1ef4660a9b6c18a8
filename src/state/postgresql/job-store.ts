// The JobStore on PostgreSQL: one spool shared by every instance of a cluster. A job launched
// through one instance is fetched, updated and cancelled through any other, because every
// change is a row change guarded by the state it starts from, under the row's lock (SELECT …
// FOR UPDATE, then the UPDATE) or in one guarded UPDATE. Claims (doorbells to ring, callbacks
// to POST) take only rows that are still due and not locked by a peer (FOR UPDATE SKIP LOCKED),
// so two instances never ring or report the same thing at once. A callback lease names the
// instance that holds it and ends by itself: when an instance dies mid-POST, a survivor sends
// the batch again once the lease has run out. Changes other instances should act on at once
// (a launch, a finished job, a stop) are announced with NOTIFY on one channel (spool-events.ts).
import type pg from 'pg';
import {
  EXECUTING_STATES,
  PICKUP_STATES,
  type DoorbellTarget,
  type DueCallback,
  type ExitStatus,
  type HostUpdate,
  type JobChanges,
  type JobOp,
  type JobRecord,
  type JobState,
  type JobStore,
  type NewJob,
  type NewParent,
  type OutputItem,
  type ParentRecord,
  type Settled,
  type UpdateOutcome,
  SpoolUnavailableError,
} from '../job-store.js';
import { planOutput, splitUpdates, type OutputProgress, type PendingOutput } from '../job-output.js';
import { SPOOL_CHANNEL, type SpoolEvent } from './spool-events.js';

type Run = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

const JOB_COLUMNS =
  'task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url, state, output_state, delivery, ' +
  'exit_status, exit_us, output_seq, output_bytes, output_truncated, last_output_us, kill_due, callback_state, callback_attempts, ' +
  'callback_error, created_at, delivered_at, finished_at, reported_at, orphan_since, orphan_due';
const TARGET_COLUMNS = 'task_id, job_uuid, host, base_url, effective_user, doorbells';
const sqlList = (states: readonly string[]) => `(${states.map((s) => `'${s}'`).join(', ')})`;
const PICKUP = sqlList(PICKUP_STATES);
const EXECUTING = sqlList(EXECUTING_STATES);
/** Launch order for a host's queue and for doorbells due at the same moment. */
const ORDER = 'created_at, seq';

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
  exit_us: string | number | null;
  output_seq: string | number;
  output_bytes: string | number;
  output_truncated: string | number;
  last_output_us: string | number;
  kill_due: string | number | null;
  callback_state: JobRecord['callbackState'];
  callback_attempts: string | number;
  callback_error: string | null;
  created_at: string | number;
  delivered_at: string | number | null;
  finished_at: string | number | null;
  reported_at: string | number | null;
  orphan_since: string | number | null;
  orphan_due: string | number | null;
}

/** int8 arrives as a string unless the pool was told otherwise: read it either way. */
const num = (v: string | number): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: string | number | null): number | null => (v === null ? null : num(v));
/** PostgreSQL text cannot hold NUL; a host's output may. */
const pgText = (s: string): string => (s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s);

export interface PgJobStoreOptions {
  /** This instance's id: written on the callback leases it takes. */
  instanceId: string;
  /** Closed with the store when true (the store made it). */
  ownsPool?: boolean;
}

/** The changes a group transaction runs, on whatever runs its queries (a client inside BEGIN). */
class PgChanges implements JobChanges {
  constructor(
    private readonly run: Run,
    /** Announced after the commit, by NOTIFY (sent inside the transaction, delivered at COMMIT). */
    private readonly notify: (event: SpoolEvent) => Promise<void>,
  ) {}

  async insertLaunch(parent: NewParent | null, jobs: NewJob[], now: number): Promise<{ existing: string[] }> {
    if (parent) await this.run('INSERT INTO rex_parents (id, operation, created_at) VALUES ($1, $2, $3)', [parent.id, parent.operation, now]);
    const rows = jobs.map((j) => ({
      task_id: j.taskId,
      parent_id: j.parentId,
      job_uuid: j.jobUuid,
      host: j.host,
      operation: j.operation,
      callback: j.callback === null || j.callback === undefined ? null : JSON.stringify(j.callback),
      input: JSON.stringify(j.input),
      script: pgText(j.script),
      effective_user: j.effectiveUser,
      base_url: j.baseUrl,
      pickup_due: j.pickupDue,
      exec_due: j.execDue,
    }));
    // One statement for the whole batch; a known task id is left as it is and reported.
    const inserted = await this.run(
      `INSERT INTO rex_jobs (task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url,
         pickup_due, exec_due, notify_at, created_at, updated_at, state, output_state)
       SELECT task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url,
         pickup_due, exec_due, $2, $2, $2, 'ready_for_pickup', 'ready_for_pickup'
       FROM jsonb_to_recordset($1::jsonb) AS j(task_id text, parent_id text, job_uuid text, host text, operation text,
         callback text, input text, script text, effective_user text, base_url text, pickup_due bigint, exec_due bigint)
       ON CONFLICT (task_id) DO NOTHING
       RETURNING task_id`,
      [JSON.stringify(rows), now],
    );
    const added = new Set(inserted.rows.map((r: { task_id: string }) => r.task_id));
    if (added.size > 0) await this.notify('launched');
    return { existing: jobs.map((j) => j.taskId).filter((id) => !added.has(id)) };
  }

  async task(taskId: string): Promise<JobRecord | undefined> {
    const row = (await this.run(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE task_id = $1`, [taskId])).rows[0] as JobRow | undefined;
    return row && toRecord(row);
  }

  async finish(taskId: string, exit: ExitStatus, debugLines: string[], now: number, onlyFrom?: readonly JobState[]): Promise<boolean> {
    const row = await this.lockTask('task_id', taskId);
    if (!row || row.state === 'finished' || (onlyFrom && !onlyFrom.includes(row.state))) return false;
    return this.finishRow(row, exit, debugLines.map((line) => ({ type: 'debug', text: line })), undefined, now, Infinity);
  }

  async requestStop(taskId: string, debugLine: string, killDue: number, now: number): Promise<boolean> {
    const row = await this.lockTask('task_id', taskId);
    if (!row || !EXECUTING_STATES.includes(row.state) || row.kill_due !== null) return false;
    const at = Math.max(now * 1000, num(row.last_output_us) + 1);
    const seq = num(row.output_seq);
    await this.run('INSERT INTO rex_output (task_id, seq, output_type, output, at_us) VALUES ($1, $2, $3, $4, $5)', [taskId, seq, 'debug', pgText(debugLine), at]);
    await this.run(
      `UPDATE rex_jobs SET cancel_publish = 1, exec_due = NULL, kill_due = $1, output_seq = $2, last_output_us = $3, updated_at = $4
       WHERE task_id = $5`,
      [killDue, seq + 1, at, now, taskId],
    );
    await this.notify('stopping');
    return true;
  }

  async deliver(jobUuid: string, host: string, delivery: string, now: number): Promise<JobRecord | undefined> {
    const res = await this.run(
      `UPDATE rex_jobs SET state = 'delivered', output_state = 'delivered', delivery = $1, delivered_at = $2, updated_at = $2, reported_at = $2,
         notify_at = NULL, slot_until = NULL, pickup_due = NULL
       WHERE job_uuid = $3 AND host = $4 AND state IN ${PICKUP}
       RETURNING ${JOB_COLUMNS}`,
      [delivery, now, jobUuid, host],
    );
    const row = res.rows[0] as JobRow | undefined;
    return row && toRecord(row);
  }

  async applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number): Promise<UpdateOutcome> {
    const row = await this.lockTask('job_uuid', jobUuid);
    if (!row || row.host !== host || !EXECUTING_STATES.includes(row.state) || row.delivery !== delivery) return 'unknown';
    // Heard from: not silent, not an orphan of a restart any more.
    await this.run('UPDATE rex_jobs SET reported_at = $1, orphan_since = NULL, orphan_due = NULL WHERE task_id = $2', [now, row.task_id]);
    const { outputs, exit } = splitUpdates(updates);
    if (exit) return (await this.finishRow(row, exit.code, outputs, exit.atUs, now, maxOutputBytes)) ? 'finished' : 'unknown';
    const p = await this.appendOutput(row, outputs, now, maxOutputBytes);
    await this.run(
      `UPDATE rex_jobs SET state = 'running', output_state = 'running', output_seq = $1, output_bytes = $2, output_truncated = $3,
         last_output_us = $4, updated_at = $5 WHERE task_id = $6`,
      [p.seq, p.bytes, p.truncated, p.lastUs, now, row.task_id],
    );
    return 'accepted';
  }

  async endOrphan(taskId: string, debugLine: string, now: number): Promise<boolean> {
    const row = await this.lockTask('task_id', taskId);
    if (!row || row.orphan_due === null || !EXECUTING_STATES.includes(row.state)) return false;
    if (!(await this.finishRow(row, 'EXCEPTION', [{ type: 'debug', text: debugLine }], undefined, now, Infinity))) return false;
    // The script may still run on the host: ask it to stop.
    await this.run('UPDATE rex_jobs SET cancel_publish = 1 WHERE task_id = $1', [taskId]);
    await this.notify('stopping');
    return true;
  }

  /** The row, locked until the transaction ends: a peer changing the same job waits for it. */
  private async lockTask(by: 'task_id' | 'job_uuid', id: string): Promise<JobRow | undefined> {
    return (await this.run(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE ${by} = $1 FOR UPDATE`, [id])).rows[0] as JobRow | undefined;
  }

  private async appendOutput(row: JobRow, outputs: PendingOutput[], now: number, maxBytes: number): Promise<OutputProgress> {
    const from = { seq: num(row.output_seq), lastUs: num(row.last_output_us), bytes: num(row.output_bytes), truncated: num(row.output_truncated) };
    const { rows, progress } = planOutput(from, outputs, now, maxBytes);
    if (rows.length > 0) {
      await this.run(
        `INSERT INTO rex_output (task_id, seq, output_type, output, at_us)
         SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[])`,
        [row.task_id, rows.map((r) => r.seq), rows.map((r) => r.type), rows.map((r) => pgText(r.text)), rows.map((r) => r.atUs)],
      );
    }
    return progress;
  }

  private async finishRow(row: JobRow, exit: ExitStatus, outputs: PendingOutput[], exitAtUs: number | undefined, now: number, maxBytes: number): Promise<boolean> {
    const p = await this.appendOutput(row, outputs, now, maxBytes);
    const exitUs = Math.max(exitAtUs ?? now * 1000, p.lastUs + 1);
    // Right-hand sides read the row as it was: output_state takes the state before 'finished'.
    const res = await this.run(
      `UPDATE rex_jobs SET output_state = state, state = 'finished', exit_status = $1, exit_us = $2, output_seq = $3, last_output_us = $4,
         output_bytes = $5, output_truncated = $6, finished_at = $7, updated_at = $7, script = '', notify_at = NULL, slot_until = NULL,
         pickup_due = NULL, exec_due = NULL, kill_due = NULL, cancel_publish = 0, orphan_due = NULL, callback_owner = NULL,
         callback_state = CASE WHEN callback IS NULL THEN 'none' ELSE 'pending' END,
         callback_due = CASE WHEN callback IS NULL THEN NULL ELSE $7::bigint END
       WHERE task_id = $8 AND state <> 'finished'`,
      [JSON.stringify(exit), exitUs, p.seq, p.lastUs, p.bytes, p.truncated, now, row.task_id],
    );
    if ((res.rowCount ?? 0) === 0) return false;
    await this.notify('finished');
    return true;
  }
}

export class PgJobStore implements JobStore {
  readonly parallelism: number;
  private readonly instanceId: string;
  private closed = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgJobStoreOptions,
  ) {
    this.instanceId = options.instanceId;
    // An idle connection whose server went away reports here; unheard, it would end the process.
    pool.on('error', () => undefined);
    // One connection stays free for the claims and reads that run beside the groups.
    this.parallelism = Math.max(1, (pool.options.max ?? 10) - 1);
  }

  transact<T>(ops: ReadonlyArray<JobOp<T>>, barrier: boolean): Promise<Settled<T>[]> {
    return this.inTransaction(async (client, tx) => {
      // Nothing outside relies on a non-barrier commit before the next barrier: skip the wait for the WAL flush.
      if (!barrier) await client.query('SET LOCAL synchronous_commit = off');
      const settled: Settled<T>[] = [];
      for (const op of ops) {
        await client.query('SAVEPOINT job_op');
        try {
          settled.push({ ok: true, value: await op(tx) });
          await client.query('RELEASE SAVEPOINT job_op');
        } catch (error) {
          // The connection is gone: the whole group is lost, not this op alone.
          if (isConnectionError(error)) throw error;
          await client.query('ROLLBACK TO SAVEPOINT job_op');
          await client.query('RELEASE SAVEPOINT job_op');
          settled.push({ ok: false, error: error instanceof Error ? error : new Error(String(error)) });
        }
      }
      return settled;
    });
  }

  insertLaunch(parent: NewParent | null, jobs: NewJob[], now: number) {
    return this.inTransaction((_c, tx) => tx.insertLaunch(parent, jobs, now));
  }
  task(taskId: string) {
    return this.changes().task(taskId);
  }
  finish(taskId: string, exit: ExitStatus, debugLines: string[], now: number, onlyFrom?: readonly JobState[]) {
    return this.inTransaction((_c, tx) => tx.finish(taskId, exit, debugLines, now, onlyFrom));
  }
  requestStop(taskId: string, debugLine: string, killDue: number, now: number) {
    return this.inTransaction((_c, tx) => tx.requestStop(taskId, debugLine, killDue, now));
  }
  deliver(jobUuid: string, host: string, delivery: string, now: number) {
    return this.changes().deliver(jobUuid, host, delivery, now);
  }
  applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number) {
    return this.inTransaction((_c, tx) => tx.applyUpdates(jobUuid, host, delivery, updates, now, maxOutputBytes));
  }

  async parent(id: string): Promise<ParentRecord | undefined> {
    const res = await this.query(
      `SELECT p.id, p.operation, p.created_at,
         (SELECT COUNT(*) FROM rex_jobs WHERE parent_id = p.id) AS n,
         (SELECT COUNT(*) FROM rex_jobs WHERE parent_id = p.id AND state <> 'finished') AS open,
         (SELECT MAX(finished_at) FROM rex_jobs WHERE parent_id = p.id) AS last
       FROM rex_parents p WHERE p.id = $1`,
      [id],
    );
    const r = res.rows[0] as { id: string; operation: string; created_at: string; n: string; open: string; last: string | null } | undefined;
    return r && { id: r.id, operation: r.operation, createdAt: num(r.created_at), children: num(r.n), unfinished: num(r.open), lastFinishedAt: r.last === null ? null : num(r.last) };
  }

  async output(taskId: string): Promise<OutputItem[]> {
    const res = await this.query('SELECT output_type, output, at_us FROM rex_output WHERE task_id = $1 ORDER BY seq', [taskId]);
    return (res.rows as { output_type: string; output: string; at_us: string }[]).map((r) => ({
      output_type: r.output_type,
      output: r.output,
      timestamp: num(r.at_us) / 1e6,
    }));
  }

  async countJobs(which: 'unfinished' | 'finished' | 'all'): Promise<number> {
    const where = which === 'unfinished' ? "WHERE state <> 'finished'" : which === 'finished' ? "WHERE state = 'finished'" : '';
    return this.count(`SELECT COUNT(*) AS n FROM rex_jobs ${where}`);
  }

  async countByState(): Promise<Record<string, number>> {
    const res = await this.query('SELECT state, COUNT(*) AS n FROM rex_jobs GROUP BY state');
    const out: Record<string, number> = {};
    for (const r of res.rows as { state: string; n: string }[]) out[r.state] = num(r.n);
    return out;
  }

  countParents(): Promise<number> {
    return this.count('SELECT COUNT(*) AS n FROM rex_parents');
  }

  /**
   * This instance's own leases (left by an earlier process under the same id) and back-offs
   * are due now. Leases of live peers are theirs; those of a dead peer end by themselves.
   */
  async releaseCallbacks(now: number): Promise<number> {
    const res = await this.query(
      `UPDATE rex_jobs SET callback_due = $1, callback_owner = NULL
       WHERE callback_state = 'pending' AND callback_due > $1 AND (callback_owner IS NULL OR callback_owner = $2)`,
      [now, this.instanceId],
    );
    return res.rowCount ?? 0;
  }

  async hostQueue(host: string): Promise<string[]> {
    const res = await this.query(`SELECT job_uuid FROM rex_jobs WHERE host = $1 AND state IN ${PICKUP} ORDER BY ${ORDER}`, [host]);
    return (res.rows as { job_uuid: string }[]).map((r) => r.job_uuid);
  }

  async deliverable(jobUuid: string, host: string): Promise<JobRecord | undefined> {
    const res = await this.query(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE job_uuid = $1 AND host = $2 AND state IN ${PICKUP}`, [jobUuid, host]);
    const row = res.rows[0] as JobRow | undefined;
    return row && toRecord(row);
  }

  async activeJob(jobUuid: string, host: string): Promise<JobRecord | undefined> {
    const res = await this.query(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE job_uuid = $1 AND host = $2 AND state <> 'finished'`, [jobUuid, host]);
    const row = res.rows[0] as JobRow | undefined;
    return row && toRecord(row);
  }

  inFlight(now: number, silentBefore: number): Promise<number> {
    return this.count(
      `SELECT (SELECT COUNT(*) FROM rex_jobs WHERE state IN ${EXECUTING} AND orphan_since IS NULL AND COALESCE(reported_at, updated_at) >= $2)
         + (SELECT COUNT(*) FROM rex_jobs WHERE slot_until > $1) AS n`,
      [now, silentBefore],
    );
  }

  async markOrphans(restartedAt: number, timeoutMs: number): Promise<number> {
    return this.inTransaction(async (client) => {
      // Orphans of an earlier restart keep their start, and take the bound configured now.
      await client.query('UPDATE rex_jobs SET orphan_due = orphan_since + $1 WHERE orphan_due IS NOT NULL', [timeoutMs]);
      const res = await client.query(`UPDATE rex_jobs SET orphan_since = $1, orphan_due = $2 WHERE state IN ${EXECUTING} AND orphan_since IS NULL`, [
        restartedAt,
        restartedAt + timeoutMs,
      ]);
      return res.rowCount ?? 0;
    });
  }

  dueOrphans(now: number, limit: number): Promise<string[]> {
    return this.dueIds('orphan_due', now, limit);
  }

  async orphans(limit: number): Promise<JobRecord[]> {
    const res = await this.query(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE orphan_due IS NOT NULL ORDER BY orphan_due, ${ORDER} LIMIT $1`, [limit]);
    return (res.rows as JobRow[]).map(toRecord);
  }

  endOrphan(taskId: string, debugLine: string, now: number) {
    return this.inTransaction((_c, tx) => tx.endOrphan(taskId, debugLine, now));
  }

  async dueDoorbells(now: number, limit: number): Promise<DoorbellTarget[]> {
    const res = await this.query(`SELECT ${TARGET_COLUMNS} FROM rex_jobs WHERE notify_at <= $1 ORDER BY notify_at, ${ORDER} LIMIT $2`, [now, limit]);
    return (res.rows as TargetRow[]).map(toTarget);
  }

  async markRinging(taskIds: string[], now: number, slotUntil: number, retryAt: number): Promise<string[]> {
    if (taskIds.length === 0) return [];
    // Rows a peer is ringing right now are skipped, not waited for: they are its to ring.
    const res = await this.query(
      `WITH due AS (SELECT task_id FROM rex_jobs WHERE task_id = ANY($1) AND notify_at <= $2 FOR UPDATE SKIP LOCKED)
       UPDATE rex_jobs j SET state = CASE WHEN j.state = 'ready_for_pickup' THEN 'notified' ELSE j.state END,
         output_state = CASE WHEN j.state = 'ready_for_pickup' THEN 'notified' ELSE j.state END,
         slot_until = $3, notify_at = $4, doorbells = j.doorbells + 1, updated_at = $2
       FROM due WHERE j.task_id = due.task_id
       RETURNING j.task_id`,
      [taskIds, now, slotUntil, retryAt],
    );
    const taken = new Set((res.rows as { task_id: string }[]).map((r) => r.task_id));
    return taskIds.filter((id) => taken.has(id));
  }

  async rescheduleDoorbells(taskIds: string[], at: number): Promise<void> {
    if (taskIds.length === 0) return;
    await this.query('UPDATE rex_jobs SET notify_at = $1 WHERE task_id = ANY($2) AND notify_at IS NOT NULL', [at, taskIds]);
  }

  async dueCancels(limit: number): Promise<DoorbellTarget[]> {
    const res = await this.query(`SELECT ${TARGET_COLUMNS} FROM rex_jobs WHERE cancel_publish = 1 ORDER BY task_id LIMIT $1`, [limit]);
    return (res.rows as TargetRow[]).map(toTarget);
  }

  async cancelsPublished(taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    await this.query('UPDATE rex_jobs SET cancel_publish = 0 WHERE task_id = ANY($1) AND cancel_publish = 1', [taskIds]);
  }

  duePickups(now: number, limit: number): Promise<string[]> {
    return this.dueIds('pickup_due', now, limit);
  }
  dueExecTimeouts(now: number, limit: number): Promise<string[]> {
    return this.dueIds('exec_due', now, limit);
  }
  dueKills(now: number, limit: number): Promise<string[]> {
    return this.dueIds('kill_due', now, limit);
  }

  async nextDue(): Promise<number | undefined> {
    const res = await this.query(
      `SELECT LEAST(
         (SELECT MIN(pickup_due) FROM rex_jobs WHERE pickup_due IS NOT NULL),
         (SELECT MIN(exec_due) FROM rex_jobs WHERE exec_due IS NOT NULL),
         (SELECT MIN(kill_due) FROM rex_jobs WHERE kill_due IS NOT NULL),
         (SELECT MIN(notify_at) FROM rex_jobs WHERE notify_at IS NOT NULL),
         (SELECT MIN(callback_due) FROM rex_jobs WHERE callback_state = 'pending'),
         (SELECT MIN(orphan_due) FROM rex_jobs WHERE orphan_due IS NOT NULL)) AS at`,
    );
    const at = (res.rows[0] as { at: string | null }).at;
    return at === null ? undefined : num(at);
  }

  async dueCallbacks(now: number, limit: number): Promise<DueCallback[]> {
    const res = await this.query(
      `SELECT task_id, callback, callback_attempts FROM rex_jobs WHERE callback_state = 'pending' AND callback_due <= $1
       ORDER BY callback_due, task_id LIMIT $2`,
      [now, limit],
    );
    return (res.rows as { task_id: string; callback: string; callback_attempts: string }[]).map((r) => ({
      taskId: r.task_id,
      callback: JSON.parse(r.callback) as unknown,
      attempts: num(r.callback_attempts),
    }));
  }

  async leaseCallbacks(taskIds: string[], now: number, until: number): Promise<string[]> {
    if (taskIds.length === 0) return [];
    const res = await this.query(
      `WITH due AS (SELECT task_id FROM rex_jobs WHERE task_id = ANY($1) AND callback_state = 'pending' AND callback_due <= $2
                    FOR UPDATE SKIP LOCKED)
       UPDATE rex_jobs j SET callback_due = $3, callback_owner = $4 FROM due WHERE j.task_id = due.task_id RETURNING j.task_id`,
      [taskIds, now, until, this.instanceId],
    );
    const taken = new Set((res.rows as { task_id: string }[]).map((r) => r.task_id));
    return taskIds.filter((id) => taken.has(id));
  }

  async callbacksDelivered(taskIds: string[], now: number): Promise<void> {
    if (taskIds.length === 0) return;
    await this.query(
      `UPDATE rex_jobs SET callback_state = 'done', callback_due = NULL, callback_error = NULL, callback_owner = NULL, updated_at = $1
       WHERE task_id = ANY($2) AND callback_state = 'pending'`,
      [now, taskIds],
    );
  }

  async callbacksFailed(retries: { taskId: string; retryAt: number }[], error: string, now: number): Promise<void> {
    if (retries.length === 0) return;
    await this.query(
      `UPDATE rex_jobs j SET callback_due = r.retry_at, callback_attempts = j.callback_attempts + 1, callback_error = $3,
         callback_owner = NULL, updated_at = $4
       FROM unnest($1::text[], $2::bigint[]) AS r(task_id, retry_at)
       WHERE j.task_id = r.task_id AND j.callback_state = 'pending'`,
      [retries.map((r) => r.taskId), retries.map((r) => r.retryAt), pgText(error), now],
    );
  }

  async prune(finishedBefore: number, limit: number): Promise<number> {
    const jobs = await this.query(
      `DELETE FROM rex_jobs WHERE task_id IN (
         SELECT task_id FROM rex_jobs WHERE finished_at < $1 AND callback_state <> 'pending' LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [finishedBefore, limit],
    );
    await this.query(
      'DELETE FROM rex_parents p WHERE created_at < $1 AND NOT EXISTS (SELECT 1 FROM rex_jobs WHERE parent_id = p.id)',
      [finishedBefore],
    );
    return jobs.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.options.ownsPool) await this.pool.end();
  }

  /** A statement on any pooled connection; a lost server reads as SpoolUnavailableError. */
  private async query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    try {
      return await this.pool.query(text, values);
    } catch (err) {
      throw asUnavailable(err);
    }
  }

  private async count(text: string, values?: unknown[]): Promise<number> {
    const res = await this.query(text, values);
    return num((res.rows[0] as { n: string }).n);
  }

  private async dueIds(column: 'pickup_due' | 'exec_due' | 'kill_due' | 'orphan_due', now: number, limit: number): Promise<string[]> {
    const res = await this.query(`SELECT task_id FROM rex_jobs WHERE ${column} <= $1 ORDER BY ${column}, task_id LIMIT $2`, [now, limit]);
    return (res.rows as { task_id: string }[]).map((r) => r.task_id);
  }

  /** Single-statement changes outside a group: autocommit on any pooled connection. */
  private changes(): PgChanges {
    return new PgChanges(
      (text, values) => this.query(text, values),
      (event) => this.query('SELECT pg_notify($1, $2)', [SPOOL_CHANNEL, event]).then(() => undefined),
    );
  }

  private async inTransaction<T>(work: (client: pg.PoolClient, tx: PgChanges) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw asUnavailable(err);
    }
    // A checked-out connection reports a lost server as an event too; the pending query
    // rejects, so the event needs a listener only to keep it from ending the process.
    const onError = (): void => undefined;
    client.on('error', onError);
    const announced = new Set<SpoolEvent>();
    const tx = new PgChanges(
      (text, values) => client.query(text, values),
      async (event) => {
        announced.add(event);
      },
    );
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      try {
        const result = await work(client, tx);
        // Delivered to listeners at COMMIT, not at all on a rollback; once per kind per transaction.
        for (const event of announced) await client.query('SELECT pg_notify($1, $2)', [SPOOL_CHANNEL, event]);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      }
    } catch (err) {
      // A connection that failed mid-transaction is not handed to the next caller.
      if (isConnectionError(err)) {
        broken ??= err as Error;
        throw asUnavailable(err);
      }
      throw err;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }
}

interface TargetRow {
  task_id: string;
  job_uuid: string;
  host: string;
  base_url: string;
  effective_user: string | null;
  doorbells: string | number;
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE']);

/** The server is gone or refuses connections (not a bad statement): worth waiting out. */
function isConnectionError(err: unknown): boolean {
  if (err instanceof SpoolUnavailableError) return true;
  const { code, message } = err as { code?: string; message?: string };
  if (code && (NETWORK_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/i.test(message ?? '');
}

function asUnavailable(err: unknown): unknown {
  if (err instanceof SpoolUnavailableError || !isConnectionError(err)) return err;
  return new SpoolUnavailableError((err as Error).message || String((err as { code?: string }).code));
}

function toTarget(r: TargetRow): DoorbellTarget {
  return { taskId: r.task_id, jobUuid: r.job_uuid, host: r.host, baseUrl: r.base_url, effectiveUser: r.effective_user, rung: num(r.doorbells) };
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
    exitAt: r.exit_us === null ? null : num(r.exit_us) / 1e6,
    stopping: r.kill_due !== null,
    callbackState: r.callback_state,
    callbackAttempts: num(r.callback_attempts),
    callbackError: r.callback_error,
    createdAt: num(r.created_at),
    deliveredAt: numOrNull(r.delivered_at),
    finishedAt: numOrNull(r.finished_at),
    reportedAt: numOrNull(r.reported_at),
    orphanSince: numOrNull(r.orphan_since),
    orphanDue: numOrNull(r.orphan_due),
  };
}
