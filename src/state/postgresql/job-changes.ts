// The changes a group transaction runs on the PostgreSQL spool (job-store.ts), each on the
// connection of the transaction it is part of. A change is guarded by the state it starts from,
// under the row's lock (SELECT … FOR UPDATE, then one statement) or in one guarded UPDATE; each
// takes at most two round trips: output rows and the job row's change go in one statement.
import {
  EXECUTING_STATES,
  type DeadlineKind,
  type DueDeadline,
  type ExitStatus,
  type HostUpdate,
  type JobChanges,
  type JobRecord,
  type JobState,
  type NewJob,
  type NewParent,
  type UpdateOutcome,
} from '../job-store.js';
import { planOutput, splitUpdates, type OutputRow, type PendingOutput } from '../job-output.js';
import { bytes, JOB_COLUMNS, LOCK_COLUMNS, num, PICKUP, toRecord, type JobRow, type LockedRow } from './job-rows.js';
import type { SpoolEvent } from './spool-events.js';

export type Run = (text: string, values?: unknown[]) => Promise<{ rows: unknown[]; rowCount: number | null }>;

/** Output rows as the parameters of INSERT_OUTPUT, numbered from `at`. */
function outputParams(rows: OutputRow[]): unknown[] {
  return [rows.map((r) => r.seq), rows.map((r) => r.type), rows.map((r) => bytes(r.text)), rows.map((r) => r.atUs)];
}
/** A CTE that appends output rows (none when the arrays are empty) to job `$task`. */
const insertOutput = (task: string, from: number) =>
  `WITH output AS (INSERT INTO rex_output (task_id, seq, output_type, output, at_us)
     SELECT ${task}, s, t, o, a FROM unnest($${from}::bigint[], $${from + 1}::text[], $${from + 2}::bytea[], $${from + 3}::bigint[]) AS x(s, t, o, a)) `;

const KINDS: readonly { kind: DeadlineKind; column: string }[] = [
  { kind: 'pickup', column: 'pickup_due' },
  { kind: 'execution', column: 'exec_due' },
  { kind: 'kill', column: 'kill_due' },
  { kind: 'orphan', column: 'orphan_due' },
];

export class PgChanges implements JobChanges {
  constructor(
    private readonly run: Run,
    /** Announced after the commit, by NOTIFY (sent inside the transaction, delivered at COMMIT). */
    private readonly notify: (event: SpoolEvent) => Promise<void>,
    /** Written on what this instance serves (served_by): a survivor takes it over when it is gone. */
    private readonly instanceId: string,
  ) {}

  async insertLaunch(parent: NewParent | null, jobs: NewJob[], now: number): Promise<{ existing: string[] }> {
    const col = <K extends keyof NewJob>(k: K) => jobs.map((j) => j[k]);
    const params: unknown[] = [
      col('taskId'),
      col('parentId'),
      col('jobUuid'),
      col('host'),
      col('operation'),
      jobs.map((j) => (j.callback === null || j.callback === undefined ? null : JSON.stringify(j.callback))),
      jobs.map((j) => JSON.stringify(j.input)),
      jobs.map((j) => bytes(j.script)),
      col('effectiveUser'),
      col('baseUrl'),
      col('pickupDue'),
      col('execDue'),
      now,
    ];
    if (parent) params.push(parent.id, parent.operation);
    // One statement for the parent and the whole batch; a known task id is left as it is and reported.
    const inserted = await this.run(
      `${parent ? 'WITH parent AS (INSERT INTO rex_parents (id, operation, created_at) VALUES ($14, $15, $13)) ' : ''}
       INSERT INTO rex_jobs (task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url,
         pickup_due, exec_due, notify_at, created_at, updated_at, state, output_state)
       SELECT t, p, u, h, o, c, i, s, e, b, pd, ed, $13, $13, $13, 'ready_for_pickup', 'ready_for_pickup'
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::text[], $10::text[],
         $11::bigint[], $12::bigint[]) AS j(t, p, u, h, o, c, i, s, e, b, pd, ed)
       ON CONFLICT (task_id) DO NOTHING
       RETURNING task_id`,
      params,
    );
    const added = new Set((inserted.rows as { task_id: string }[]).map((r) => r.task_id));
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
    await this.run(
      `${insertOutput('$5', 6)}
       UPDATE rex_jobs SET cancel_publish = 1, exec_due = NULL, kill_due = $1, output_seq = $2, last_output_us = $3, updated_at = $4
       WHERE task_id = $5`,
      [killDue, seq + 1, at, now, taskId, ...outputParams([{ seq, type: 'debug', text: debugLine, atUs: at }])],
    );
    await this.notify('stopping');
    return true;
  }

  async deliver(jobUuid: string, host: string, delivery: string, now: number): Promise<JobRecord | undefined> {
    const res = await this.run(
      `UPDATE rex_jobs SET state = 'delivered', output_state = 'delivered', delivery = $1, delivered_at = $2, updated_at = $2, reported_at = $2,
         notify_at = NULL, slot_until = NULL, pickup_due = NULL, served_by = $5
       WHERE job_uuid = $3 AND host = $4 AND state IN ${PICKUP}
       RETURNING ${JOB_COLUMNS}`,
      [delivery, now, jobUuid, host, this.instanceId],
    );
    const row = res.rows[0] as JobRow | undefined;
    return row && toRecord(row);
  }

  async applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number): Promise<UpdateOutcome> {
    const row = await this.lockTask('job_uuid', jobUuid);
    if (!row || row.host !== host || !EXECUTING_STATES.includes(row.state) || row.delivery !== delivery) return 'unknown';
    const { outputs, exit } = splitUpdates(updates);
    // Heard from (through this instance): not silent, not an orphan any more.
    if (exit) return (await this.finishRow(row, exit.code, outputs, exit.atUs, now, maxOutputBytes, { heard: true })) ? 'finished' : 'unknown';
    const { rows, progress: p } = planOutput(progressOf(row), outputs, now, maxOutputBytes);
    await this.run(
      `${insertOutput('$6', 8)}
       UPDATE rex_jobs SET state = 'running', output_state = 'running', output_seq = $1, output_bytes = $2, output_truncated = $3,
         last_output_us = $4, updated_at = $5, reported_at = $5, orphan_since = NULL, orphan_due = NULL, served_by = $7
       WHERE task_id = $6`,
      [p.seq, p.bytes, p.truncated, p.lastUs, now, row.task_id, this.instanceId, ...outputParams(rows)],
    );
    return 'accepted';
  }

  async endOrphan(taskId: string, debugLine: string, now: number): Promise<boolean> {
    const row = await this.lockTask('task_id', taskId);
    if (!row || row.orphan_due === null || !EXECUTING_STATES.includes(row.state)) return false;
    // The script may still run on the host: ask it to stop.
    return this.finishRow(row, 'EXCEPTION', [{ type: 'debug', text: debugLine }], undefined, now, Infinity, { cancel: true });
  }

  async claimDeadlines(now: number, limit: number): Promise<DueDeadline[]> {
    // Rows a peer is handling are skipped, not waited for: they are its to end.
    const res = await this.run(
      `SELECT task_id, ${KINDS.map((k) => `${k.column} <= $1 AS ${k.kind}`).join(', ')} FROM rex_jobs
       WHERE ${KINDS.map((k) => `${k.column} <= $1`).join(' OR ')}
       ORDER BY LEAST(${KINDS.map((k) => k.column).join(', ')}), task_id
       LIMIT $2 FOR UPDATE SKIP LOCKED`,
      [now, limit],
    );
    return (res.rows as ({ task_id: string } & Record<DeadlineKind, boolean | null>)[]).map((r) => ({
      taskId: r.task_id,
      kinds: KINDS.filter((k) => r[k.kind] === true).map((k) => k.kind),
    }));
  }

  /** The row, locked until the transaction ends: a peer changing the same job waits for it. */
  private async lockTask(by: 'task_id' | 'job_uuid', id: string): Promise<LockedRow | undefined> {
    return (await this.run(`SELECT ${LOCK_COLUMNS} FROM rex_jobs WHERE ${by} = $1 FOR UPDATE`, [id])).rows[0] as LockedRow | undefined;
  }

  /**
   * Appends the output and ends the job in one statement (the row is locked and unfinished).
   * `heard`: the host reported it through this instance; `cancel`: queue an MQTT cancel.
   */
  private async finishRow(
    row: LockedRow,
    exit: ExitStatus,
    outputs: PendingOutput[],
    exitAtUs: number | undefined,
    now: number,
    maxBytes: number,
    how: { heard?: boolean; cancel?: boolean } = {},
  ): Promise<boolean> {
    const { rows, progress: p } = planOutput(progressOf(row), outputs, now, maxBytes);
    const exitUs = Math.max(exitAtUs ?? now * 1000, p.lastUs + 1);
    // Right-hand sides read the row as it was: output_state takes the state before 'finished'.
    const res = await this.run(
      `${insertOutput('$8', 11)}
       UPDATE rex_jobs SET output_state = state, state = 'finished', exit_status = $1, exit_us = $2, output_seq = $3, last_output_us = $4,
         output_bytes = $5, output_truncated = $6, finished_at = $7, updated_at = $7, script = ''::bytea, notify_at = NULL, slot_until = NULL,
         pickup_due = NULL, exec_due = NULL, kill_due = NULL, cancel_publish = $9, orphan_due = NULL, callback_owner = NULL,
         callback_state = CASE WHEN callback IS NULL THEN 'none' ELSE 'pending' END,
         callback_due = CASE WHEN callback IS NULL THEN NULL ELSE $7::bigint END,
         reported_at = CASE WHEN $10::text IS NULL THEN reported_at ELSE $7 END,
         orphan_since = CASE WHEN $10::text IS NULL THEN orphan_since END, served_by = COALESCE($10, served_by)
       WHERE task_id = $8 AND state <> 'finished'`,
      [JSON.stringify(exit), exitUs, p.seq, p.lastUs, p.bytes, p.truncated, now, row.task_id, how.cancel ? 1 : 0, how.heard ? this.instanceId : null, ...outputParams(rows)],
    );
    if ((res.rowCount ?? 0) === 0) return false;
    await this.notify('finished');
    if (how.cancel) await this.notify('stopping');
    return true;
  }
}

function progressOf(row: LockedRow) {
  return { seq: num(row.output_seq), lastUs: num(row.last_output_us), bytes: num(row.output_bytes), truncated: num(row.output_truncated) };
}
