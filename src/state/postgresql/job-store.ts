// The JobStore on PostgreSQL: one spool shared by every instance of a cluster. A job launched
// through one instance is fetched, updated and cancelled through any other, because every
// change is a row change guarded by the state it starts from, under the row's lock (SELECT …
// FOR UPDATE, then the UPDATE) or in one guarded UPDATE. Claims (doorbells to ring, deadlines to
// fire, callbacks to POST) take only rows that are still due and not locked by a peer (FOR
// UPDATE SKIP LOCKED), so two instances never ring, end or report the same thing at once. A job
// names the instance serving its host, the one that claimed its doorbell and the one holding
// its callback lease: what an instance whose heartbeat lease expired left is taken over
// (takeOver). Changes other instances should act on at once (a launch, a finished job, a stop)
// are announced with NOTIFY on one channel (spool-events.ts). Group transactions batch what
// their operations ask (job-batch.ts): round trips, not rows, are what a server costs.
import type pg from 'pg';
import {
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
  type TakeOver,
  type DoorbellClaim,
} from '../job-store.js';
import { PgChanges } from './job-changes.js';
import { runBatched } from './job-batch.js';
import { asUnavailable, EXECUTING, gone, isConnectionError, JOB_COLUMNS, num, ORDER, PICKUP, pgText, TARGET_COLUMNS, toRecord, toTarget, type JobRow, type TargetRow } from './job-rows.js';
import { SPOOL_CHANNEL, type SpoolEvent } from './spool-events.js';

export interface PgJobStoreOptions {
  /** This instance's id: written on the callback leases it takes. */
  instanceId: string;
  /** Closed with the store when true (the store made it). */
  ownsPool?: boolean;
}

/** An operation of a group threw: the group is run again with each operation on its own. */
class OpFailed extends Error {}
/** The group lost a deadlock or a serialization race: it is run again whole. */
class Conflict extends Error {
  constructor(override readonly cause: unknown) {
    super('transaction conflict');
  }
}
const CONFLICT_ATTEMPTS = 4;
/** Doorbell claims with a rate limit take turns on this (class, key) advisory lock. */
const RATE_LIMIT_LOCK = [0x7072, 1] as const;
const isConflict = (err: unknown): boolean => ['40P01', '40001'].includes((err as { code?: string } | null)?.code ?? '');


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
    return this.transactPlanned(async () => ops, barrier);
  }

  /**
   * The operations run side by side, their fetches and updates batched (job-batch.ts), with no
   * savepoint between them (each would cost two round trips): operations that throw are rare.
   * When one does, the whole transaction is rolled back and run again with the operations one
   * after the other, each in its own savepoint, so that only that one is undone. A deadlock
   * (two transactions locking the same jobs in another order) undoes the whole transaction,
   * which runs again. Operations only touch the database, so running one again changes nothing
   * but the outcome.
   */
  async transactPlanned<T>(plan: (tx: JobChanges) => Promise<ReadonlyArray<JobOp<T>>>, barrier: boolean): Promise<Settled<T>[]> {
    let isolated = false;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.inTransaction((client, tx) => this.runOps(client, tx, plan, isolated), barrier);
      } catch (err) {
        if (err instanceof Conflict && attempt < CONFLICT_ATTEMPTS) continue;
        if (err instanceof OpFailed && !isolated) {
          isolated = true;
          continue;
        }
        throw err instanceof Conflict ? err.cause : err;
      }
    }
  }

  private async runOps<T>(client: pg.PoolClient, tx: PgChanges, plan: (tx: JobChanges) => Promise<ReadonlyArray<JobOp<T>>>, isolated: boolean): Promise<Settled<T>[]> {
    if (!isolated) {
      try {
        return (await runBatched(tx, await plan(tx))).map((value) => ({ ok: true, value }));
      } catch (error) {
        if (isConnectionError(error)) throw error;
        if (isConflict(error)) throw new Conflict(error);
        throw new OpFailed();
      }
    }
    const settled: Settled<T>[] = [];
    for (const op of await plan(tx)) {
      await client.query('SAVEPOINT job_op');
      try {
        settled.push({ ok: true, value: await op(tx) });
        await client.query('RELEASE SAVEPOINT job_op');
      } catch (error) {
        // The connection is gone: the whole group is lost, not this op alone.
        if (isConnectionError(error)) throw error;
        if (isConflict(error)) throw new Conflict(error);
        await client.query('ROLLBACK TO SAVEPOINT job_op; RELEASE SAVEPOINT job_op');
        settled.push({ ok: false, error: error instanceof Error ? error : new Error(String(error)) });
      }
    }
    return settled;
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
  /** Outside a transaction the rows are not held past the statement; see transactPlanned. */
  claimDeadlines(now: number, limit: number) {
    return this.changes().claimDeadlines(now, limit);
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
    return (res.rows as { output_type: string; output: Buffer; at_us: string }[]).map((r) => ({
      output_type: r.output_type,
      output: r.output.toString('utf8'),
      timestamp: num(r.at_us) / 1e6,
    }));
  }

  /** Two statements for any number of jobs. */
  async jobsWithOutput(taskIds: string[]): Promise<Map<string, { job: JobRecord; output: OutputItem[] }>> {
    const out = new Map<string, { job: JobRecord; output: OutputItem[] }>();
    if (taskIds.length === 0) return out;
    const jobs = await this.query(`SELECT ${JOB_COLUMNS} FROM rex_jobs WHERE task_id = ANY($1)`, [taskIds]);
    for (const row of jobs.rows as JobRow[]) out.set(row.task_id, { job: toRecord(row), output: [] });
    const lines = await this.query('SELECT task_id, output_type, output, at_us FROM rex_output WHERE task_id = ANY($1) ORDER BY task_id, seq', [taskIds]);
    for (const r of lines.rows as { task_id: string; output_type: string; output: Buffer; at_us: string | number }[]) {
      out.get(r.task_id)?.output.push({ output_type: r.output_type, output: r.output.toString('utf8'), timestamp: num(r.at_us) / 1e6 });
    }
    return out;
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

  async finishedCounts(since: number): Promise<{ failed: number; recent: number }> {
    const res = await this.query(
      "SELECT COUNT(*) FILTER (WHERE exit_status <> '0') AS failed, COUNT(*) FILTER (WHERE finished_at >= $1) AS recent FROM rex_jobs WHERE state = 'finished'",
      [since],
    );
    const r = res.rows[0] as { failed: string; recent: string };
    return { failed: num(r.failed), recent: num(r.recent) };
  }

  countParents(): Promise<number> {
    return this.count('SELECT COUNT(*) AS n FROM rex_parents');
  }

  /**
   * This instance's own leases and back-offs (left by an earlier process under the same id),
   * those of instances whose lease expired, and those of nobody are due now. A live peer's are
   * its own: it may be posting them right now.
   */
  async releaseCallbacks(now: number): Promise<number> {
    const res = await this.query(
      `UPDATE rex_jobs SET callback_due = $1, callback_owner = NULL
       WHERE callback_state = 'pending' AND callback_due > $1 AND (callback_owner IS NULL OR callback_owner = $2 OR ${gone('callback_owner')})`,
      [now, this.instanceId],
    );
    return res.rowCount ?? 0;
  }

  /**
   * One statement over three disjoint sets of rows: fetched jobs whose host last talked to a
   * gone instance become orphans (its next report may have died with it), and that instance's
   * callback leases and back-offs and its doorbell claims are due now. Rows a live instance has
   * locked are being changed by it: skipped, and looked at again next time.
   */
  async takeOver(now: number, orphanTimeoutMs: number): Promise<TakeOver> {
    const res = await this.query(
      `WITH orphaned AS (
         UPDATE rex_jobs SET orphan_since = $1, orphan_due = $1::bigint + $2 WHERE task_id IN (
           SELECT task_id FROM rex_jobs WHERE state IN ${EXECUTING} AND orphan_since IS NULL AND served_by <> $3 AND ${gone('served_by')}
           FOR UPDATE SKIP LOCKED) RETURNING 1),
       callbacks AS (
         UPDATE rex_jobs SET callback_due = $1, callback_owner = NULL WHERE task_id IN (
           SELECT task_id FROM rex_jobs WHERE callback_state = 'pending' AND callback_due > $1 AND callback_owner <> $3 AND ${gone('callback_owner')}
           FOR UPDATE SKIP LOCKED) RETURNING 1),
       doorbells AS (
         UPDATE rex_jobs SET notify_at = $1, rung_by = NULL WHERE task_id IN (
           SELECT task_id FROM rex_jobs WHERE state IN ${PICKUP} AND notify_at > $1 AND rung_by <> $3 AND ${gone('rung_by')}
           FOR UPDATE SKIP LOCKED) RETURNING 1)
       SELECT (SELECT COUNT(*) FROM orphaned) AS orphaned, (SELECT COUNT(*) FROM callbacks) AS callbacks, (SELECT COUNT(*) FROM doorbells) AS doorbells`,
      [now, orphanTimeoutMs, this.instanceId],
    );
    const r = res.rows[0] as Record<keyof TakeOver, string | number>;
    return { orphaned: num(r.orphaned), callbacks: num(r.callbacks), doorbells: num(r.doorbells) };
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

  /**
   * Only jobs whose host last talked to this instance, to a gone one, or to nobody known, and
   * that have been silent since the start (when the database was away at start, hosts may have
   * reported through this instance before this runs).
   */
  async markOrphans(restartedAt: number, timeoutMs: number): Promise<number> {
    // Orphans of an earlier restart keep their start, and take the bound configured now (a
    // disjoint set of rows: they have orphan_since).
    const res = await this.query(
      `WITH rebound AS (UPDATE rex_jobs SET orphan_due = orphan_since + $1 WHERE orphan_due IS NOT NULL)
       UPDATE rex_jobs SET orphan_since = $2, orphan_due = $2::bigint + $1
       WHERE state IN ${EXECUTING} AND orphan_since IS NULL AND COALESCE(reported_at, 0) < $2
         AND (served_by IS NULL OR served_by = $3 OR ${gone('served_by')})`,
      [timeoutMs, restartedAt, this.instanceId],
    );
    return res.rowCount ?? 0;
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
         slot_until = $3, notify_at = $4, doorbells = j.doorbells + 1, updated_at = $2, rung_by = $5
       FROM due WHERE j.task_id = due.task_id
       RETURNING j.task_id`,
      [taskIds, now, slotUntil, retryAt, this.instanceId],
    );
    const taken = new Set((res.rows as { task_id: string }[]).map((r) => r.task_id));
    return taskIds.filter((id) => taken.has(id));
  }

  /**
   * One statement counts the jobs in flight and claims what the limit leaves room for. With a
   * limit, claimers take turns on a transaction advisory lock taken before the statement
   * starts: its snapshot then sees every claim committed before, so the count is never stale.
   */
  async claimDoorbells(c: DoorbellClaim): Promise<DoorbellTarget[]> {
    const limited = c.rateLimit !== null;
    // Without a limit the count is not made (a CASE branch not taken is not evaluated).
    const room = `CASE WHEN $3::bigint IS NULL THEN $2::bigint ELSE GREATEST(0, LEAST($2::bigint, $3::bigint - (
           (SELECT COUNT(*) FROM rex_jobs WHERE state IN ${EXECUTING} AND orphan_since IS NULL AND COALESCE(reported_at, updated_at) >= $4::bigint)
           + (SELECT COUNT(*) FROM rex_jobs WHERE slot_until > $1)))) END`;
    return this.inTransaction(
      async (client) => {
        const res = await client.query(
          `WITH due AS (SELECT task_id FROM rex_jobs WHERE notify_at <= $1 ORDER BY notify_at, ${ORDER} LIMIT ${room} FOR UPDATE SKIP LOCKED)
           UPDATE rex_jobs j SET state = CASE WHEN j.state = 'ready_for_pickup' THEN 'notified' ELSE j.state END,
             output_state = CASE WHEN j.state = 'ready_for_pickup' THEN 'notified' ELSE j.state END,
             slot_until = $5, notify_at = $6, doorbells = j.doorbells + 1, updated_at = $1, rung_by = $7
           FROM due WHERE j.task_id = due.task_id
           RETURNING j.task_id, j.job_uuid, j.host, j.base_url, j.effective_user, j.doorbells - 1 AS doorbells, j.created_at, j.seq`,
          [c.now, c.limit, c.rateLimit, c.silentBefore, c.slotUntil, c.retryAt, this.instanceId],
        );
        const rows = res.rows as (TargetRow & { created_at: number | string; seq: number | string })[];
        return rows.sort((a, b) => num(a.created_at) - num(b.created_at) || num(a.seq) - num(b.seq)).map(toTarget);
      },
      false,
      limited ? `SELECT pg_advisory_xact_lock(${RATE_LIMIT_LOCK.join(', ')})` : undefined,
    );
  }

  async rescheduleDoorbells(taskIds: string[], at: number): Promise<void> {
    if (taskIds.length === 0) return;
    // A row locked meanwhile is being fetched (or finished): skipped, not waited for. Waiting
    // on rows in another order than the transaction holding them would deadlock; a skipped
    // one keeps the unconfirmed retry time markRinging set.
    await this.query(
      `UPDATE rex_jobs SET notify_at = $1 WHERE task_id IN (
         SELECT task_id FROM rex_jobs WHERE task_id = ANY($2) AND notify_at IS NOT NULL FOR UPDATE SKIP LOCKED)`,
      [at, taskIds],
    );
  }

  async dueCancels(limit: number): Promise<DoorbellTarget[]> {
    const res = await this.query(`SELECT ${TARGET_COLUMNS} FROM rex_jobs WHERE cancel_publish = 1 ORDER BY task_id LIMIT $1`, [limit]);
    return (res.rows as TargetRow[]).map(toTarget);
  }

  async cancelsPublished(taskIds: string[]): Promise<void> {
    if (taskIds.length === 0) return;
    // Skipped when locked (see rescheduleDoorbells): the cancel is then published once more.
    await this.query(
      `UPDATE rex_jobs SET cancel_publish = 0 WHERE task_id IN (
         SELECT task_id FROM rex_jobs WHERE task_id = ANY($1) AND cancel_publish = 1 FOR UPDATE SKIP LOCKED)`,
      [taskIds],
    );
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
      // The back-off stays this instance's: a peer restarting does not cut it short.
      `UPDATE rex_jobs j SET callback_due = r.retry_at, callback_attempts = j.callback_attempts + 1, callback_error = $3,
         callback_owner = $5, updated_at = $4
       FROM unnest($1::text[], $2::bigint[]) AS r(task_id, retry_at)
       WHERE j.task_id = r.task_id AND j.callback_state = 'pending'`,
      [retries.map((r) => r.taskId), retries.map((r) => r.retryAt), pgText(error), now, this.instanceId],
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
      this.instanceId,
    );
  }

  /**
   * `work` in one transaction on one pooled connection. `durable` false: the commit does not
   * wait for the WAL flush (nothing outside relies on it before the next durable one). BEGIN
   * and the announcements with COMMIT go in one round trip each.
   */
  private async inTransaction<T>(work: (client: pg.PoolClient, tx: PgChanges) => Promise<T>, durable = true, prelude?: string): Promise<T> {
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
      this.instanceId,
    );
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN;${durable ? '' : ' SET LOCAL synchronous_commit = off;'}${prelude ? ` ${prelude};` : ''}`);
      try {
        const result = await work(client, tx);
        // Delivered to listeners at COMMIT, not at all on a rollback; once per kind per transaction.
        const notices = [...announced].map((event) => `SELECT pg_notify('${SPOOL_CHANNEL}', '${event}'); `).join('');
        await client.query(`${notices}COMMIT`);
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
