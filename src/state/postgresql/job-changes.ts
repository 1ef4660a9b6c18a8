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

/** A fetch, as deliver() takes it. */
export interface DeliverRequest {
  jobUuid: string;
  host: string;
  delivery: string;
  now: number;
}

/** A host's update, as applyUpdates() takes it. */
export interface UpdateRequest extends DeliverRequest {
  updates: HostUpdate[];
  maxOutputBytes: number;
}

/** The job's columns in a statement that joins rex_jobs as `j` to other rows. */
const J_COLUMNS = JOB_COLUMNS.split(', ')
  .map((c) => `j.${c}`)
  .join(', ');

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
    return (await this.deliverMany([{ jobUuid, host, delivery, now }]))[0];
  }

  /** Fetches of different jobs in one statement; each gets its job, or undefined (not deliverable to it). */
  async deliverMany(reqs: DeliverRequest[]): Promise<(JobRecord | undefined)[]> {
    const res = await this.run(
      `UPDATE rex_jobs j SET state = 'delivered', output_state = 'delivered', delivery = r.delivery, delivered_at = r.at, updated_at = r.at,
         reported_at = r.at, notify_at = NULL, slot_until = NULL, pickup_due = NULL, served_by = $5
       FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS r(job_uuid, host, delivery, at)
       WHERE j.job_uuid = r.job_uuid AND j.host = r.host AND j.state IN ${PICKUP}
       RETURNING ${J_COLUMNS}`,
      [reqs.map((r) => r.jobUuid), reqs.map((r) => r.host), reqs.map((r) => r.delivery), reqs.map((r) => r.now), this.instanceId],
    );
    const got = new Map((res.rows as JobRow[]).map((row) => [row.job_uuid, row]));
    return reqs.map((r) => {
      const row = got.get(r.jobUuid);
      return row && row.delivery === r.delivery ? toRecord(row) : undefined;
    });
  }

  async applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number): Promise<UpdateOutcome> {
    return (await this.applyUpdatesMany([{ jobUuid, host, delivery, updates, now, maxOutputBytes }]))[0]!;
  }

  /**
   * Updates of different jobs in two statements whatever their number: their rows locked (in
   * task id order, as every batch locks them), then every output row, every job that goes on
   * and every job that ended, in one statement. Heard from through this instance: not silent,
   * not an orphan any more.
   */
  async applyUpdatesMany(reqs: UpdateRequest[]): Promise<UpdateOutcome[]> {
    const locked = await this.run(`SELECT ${LOCK_COLUMNS}, job_uuid FROM rex_jobs WHERE job_uuid = ANY($1) ORDER BY task_id FOR UPDATE`, [
      reqs.map((r) => r.jobUuid),
    ]);
    const rows = new Map((locked.rows as (LockedRow & { job_uuid: string })[]).map((row) => [row.job_uuid, row]));
    const out: OutputRow[] = [];
    const outTask: string[] = [];
    const going = { task: [] as string[], seq: [] as number[], bytes: [] as number[], trunc: [] as number[], last: [] as number[], at: [] as number[] };
    const ending = { ...going, task: [] as string[], exit: [] as string[], exitUs: [] as number[] };
    const outcomes = reqs.map((r): UpdateOutcome => {
      const row = rows.get(r.jobUuid);
      if (!row || row.host !== r.host || !EXECUTING_STATES.includes(row.state) || row.delivery !== r.delivery) return 'unknown';
      const { outputs, exit } = splitUpdates(r.updates);
      const { rows: added, progress: p } = planOutput(progressOf(row), outputs, r.now, r.maxOutputBytes);
      for (const o of added) {
        out.push(o);
        outTask.push(row.task_id);
      }
      const to = exit ? ending : going;
      to.task.push(row.task_id);
      to.seq.push(p.seq);
      to.bytes.push(p.bytes);
      to.trunc.push(p.truncated);
      to.last.push(p.lastUs);
      to.at.push(r.now);
      if (!exit) return 'accepted';
      ending.exit.push(JSON.stringify(exit.code));
      ending.exitUs.push(Math.max(exit.atUs ?? r.now * 1000, p.lastUs + 1));
      return 'finished';
    });
    if (going.task.length + ending.task.length === 0) return outcomes;
    const res = await this.run(
      `WITH outs AS (INSERT INTO rex_output (task_id, seq, output_type, output, at_us)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bytea[], $5::bigint[])),
       going AS (UPDATE rex_jobs j SET state = 'running', output_state = 'running', output_seq = g.seq, output_bytes = g.bytes,
           output_truncated = g.trunc, last_output_us = g.last, updated_at = g.at, reported_at = g.at, orphan_since = NULL, orphan_due = NULL,
           served_by = $20
         FROM unnest($6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[]) AS g(task_id, seq, bytes, trunc, last, at)
         WHERE j.task_id = g.task_id),
       ended AS (UPDATE rex_jobs j SET output_state = j.state, state = 'finished', exit_status = e.exit, exit_us = e.exit_us, output_seq = e.seq,
           last_output_us = e.last, output_bytes = e.bytes, output_truncated = e.trunc, finished_at = e.at, updated_at = e.at, script = ''::bytea,
           notify_at = NULL, slot_until = NULL, pickup_due = NULL, exec_due = NULL, kill_due = NULL, cancel_publish = 0, orphan_due = NULL,
           callback_owner = NULL, callback_state = CASE WHEN j.callback IS NULL THEN 'none' ELSE 'pending' END,
           callback_due = CASE WHEN j.callback IS NULL THEN NULL ELSE e.at END, reported_at = e.at, orphan_since = NULL, served_by = $20
         FROM unnest($12::text[], $13::text[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[])
           AS e(task_id, exit, exit_us, seq, last, bytes, trunc, at)
         WHERE j.task_id = e.task_id AND j.state <> 'finished'
         RETURNING j.task_id)
       SELECT task_id FROM ended`,
      [
        outTask,
        ...outputParams(out),
        going.task,
        going.seq,
        going.bytes,
        going.trunc,
        going.last,
        going.at,
        ending.task,
        ending.exit,
        ending.exitUs,
        ending.seq,
        ending.last,
        ending.bytes,
        ending.trunc,
        ending.at,
        this.instanceId,
      ],
    );
    if (res.rows.length > 0) await this.notify('finished');
    return outcomes;
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
