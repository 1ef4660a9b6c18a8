// The SQLite spool's statements and how its rows read as records (schema: migration 10). A job is
// a row of rex_job_specs (what it was launched with, written once), a narrow row of
// rex_job_states (what changes as it runs; states as small codes), its script in
// rex_job_scripts until it ends, its output in rex_job_output, and while its result is owed to
// Foreman a row of rex_job_callbacks. Every state change is one UPDATE of the narrow row guarded
// by the state it starts from.
import type Database from 'better-sqlite3';
import { EXECUTING_STATES, JOB_STATES, PICKUP_STATES, type DoorbellTarget, type ExitStatus, type JobRecord, type JobState } from '../job-store.js';

/** A state's code in rex_job_states: its place in JOB_STATES. */
export const stateCode = (s: JobState): number => JOB_STATES.indexOf(s);
export const FINISHED = stateCode('finished');
const codes = (states: readonly JobState[]) => `(${states.map(stateCode).join(', ')})`;
// As in the partial index rex_job_states_heard, term for term, so that the planner uses it.
const EXECUTING = codes(EXECUTING_STATES);
const PICKUP = codes(PICKUP_STATES);

/** A job whole: its launch, its state, its script (NULL once it ended). */
export interface JobRow {
  id: number;
  task_id: string;
  parent_id: string | null;
  job_uuid: string;
  host: string;
  operation: string;
  callback: string | null;
  input: string;
  effective_user: string | null;
  base_url: string;
  created_at: number;
  state: number;
  output_state: number;
  delivery: string | null;
  exit_status: string | null;
  exit_us: number | null;
  kill_due: number | null;
  /** 1 while a row of rex_job_callbacks says the result is owed. */
  owed: number;
  callback_attempts: number;
  callback_error: string | null;
  delivered_at: number | null;
  finished_at: number | null;
  reported_at: number | null;
  orphan_since: number | null;
  orphan_due: number | null;
  script: string | null;
}

/** What a state change reads first: where the job is and what its output holds so far. */
export interface ProgressRow {
  id: number;
  task_id: string;
  host: string;
  /** 1 when Foreman asked for no callback. */
  no_callback: number;
  state: number;
  output_state: number;
  delivery: string | null;
  output_seq: number;
  output_bytes: number;
  output_truncated: number;
  last_output_us: number;
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

const JOB =
  'SELECT s.id, s.task_id, s.parent_id, s.job_uuid, s.host, s.operation, s.callback, ' +
  // A batch child's input is a merge patch against its parent's (input-patch.ts).
  'CASE WHEN s.input_patched = 1 THEN json_patch(p.input, s.input) ELSE s.input END AS input, s.effective_user, s.base_url, s.created_at, ' +
  't.state, t.output_state, t.delivery, t.exit_status, t.exit_us, t.kill_due, o.id IS NOT NULL AS owed, ' +
  'COALESCE(o.attempts, t.callback_attempts) AS callback_attempts, o.error AS callback_error, ' +
  't.delivered_at, t.finished_at, t.reported_at, t.orphan_since, t.orphan_due, c.script ' +
  'FROM rex_job_specs s JOIN rex_job_states t ON t.id = s.id LEFT JOIN rex_job_scripts c ON c.id = s.id ' +
  'LEFT JOIN rex_job_callbacks o ON o.id = s.id LEFT JOIN rex_parents p ON p.id = s.parent_id';
const PROGRESS =
  'SELECT t.id, s.task_id, s.host, s.callback IS NULL AS no_callback, t.state, t.output_state, t.delivery, t.output_seq, t.output_bytes, ' +
  't.output_truncated, t.last_output_us, t.orphan_since, t.orphan_due FROM rex_job_states t JOIN rex_job_specs s ON s.id = t.id';
const TARGET = 'SELECT s.task_id, s.job_uuid, s.host, s.base_url, s.effective_user, t.doorbells FROM rex_job_states t JOIN rex_job_specs s ON s.id = t.id';
const DUE = (column: string) =>
  `SELECT s.task_id, t.${column} AS at FROM rex_job_states t JOIN rex_job_specs s ON s.id = t.id WHERE t.${column} <= ? ORDER BY t.${column}, s.task_id LIMIT ?`;

export function prepareStatements(db: Database.Database) {
  return {
    insertParent: db.prepare<[string, string, string | null, number]>('INSERT INTO rex_parents (id, operation, input, created_at) VALUES (?, ?, ?, ?)'),
    insertSpec: db.prepare<[string, string, string, string | null, string, string | null, string, number, string | null, string, number]>(
      `INSERT INTO rex_job_specs (task_id, job_uuid, host, parent_id, operation, callback, input, input_patched, effective_user, base_url, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    insertState: db.prepare<[number, number, number | null, number | null]>(
      'INSERT INTO rex_job_states (id, state, output_state, notify_at, pickup_due, exec_due) VALUES (?, 0, 0, ?, ?, ?)',
    ),
    insertScript: db.prepare<[number, string]>('INSERT INTO rex_job_scripts (id, script) VALUES (?, ?)'),
    dropScript: db.prepare<[number]>('DELETE FROM rex_job_scripts WHERE id = ?'),

    job: db.prepare<[number], JobRow>(`${JOB} WHERE s.id = ?`),
    jobByUuid: db.prepare<[string], JobRow>(`${JOB} WHERE s.job_uuid = ?`),
    progress: db.prepare<[number], ProgressRow>(`${PROGRESS} WHERE t.id = ?`),
    progressByUuid: db.prepare<[string], ProgressRow>(`${PROGRESS} WHERE s.job_uuid = ?`),
    parent: db.prepare<[string], { id: string; operation: string; created_at: number }>('SELECT id, operation, created_at FROM rex_parents WHERE id = ?'),
    parentChildren: db.prepare<[string], { n: number; open: number | null; last: number | null }>(
      `SELECT COUNT(*) AS n, SUM(t.state <> ${FINISHED}) AS open, MAX(t.finished_at) AS last
       FROM rex_job_specs s JOIN rex_job_states t ON t.id = s.id WHERE s.parent_id = ?`,
    ),
    output: db.prepare<[number], { output_type: string; output: string; at_us: number }>(
      'SELECT output_type, output, at_us FROM rex_job_output WHERE id = ? ORDER BY seq',
    ),
    // Counts read the narrow rows whole: no index on the state, which changes at every step.
    countUnfinished: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM rex_job_states WHERE state <> ${FINISHED}`),
    countFinished: db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM rex_job_states WHERE state = ${FINISHED}`),
    countParents: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM rex_parents'),
    countByState: db.prepare<[], { state: number; n: number }>('SELECT state, COUNT(*) AS n FROM rex_job_states GROUP BY state'),
    finishedCounts: db.prepare<[number], { failed: number | null; recent: number | null }>(
      `SELECT SUM(exit_status <> '0') AS failed, SUM(finished_at >= ?) AS recent FROM rex_job_states WHERE state = ${FINISHED}`,
    ),
    insertOutput: db.prepare<[number, number, string, string, number]>(
      'INSERT INTO rex_job_output (id, seq, output_type, output, at_us) VALUES (?, ?, ?, ?, ?)',
    ),
    setProgress: db.prepare<[number, number, number, number, number, number, number]>(
      'UPDATE rex_job_states SET state = ?, output_state = ?, output_seq = ?, output_bytes = ?, output_truncated = ?, last_output_us = ? WHERE id = ?',
    ),
    // Right-hand sides read the row as it was: output_state takes the state before 'finished'.
    finish: db.prepare<[string, number, number, number, number, number]>(
      `UPDATE rex_job_states SET output_state = state, state = ${FINISHED}, exit_status = ?, exit_us = ?, output_seq = ?, last_output_us = ?,
         finished_at = ?, notify_at = NULL, slot_until = NULL, pickup_due = NULL, exec_due = NULL, kill_due = NULL, cancel_publish = 0,
         orphan_due = NULL
       WHERE id = ? AND state <> ${FINISHED}`,
    ),
    owe: db.prepare<[number, number]>('INSERT INTO rex_job_callbacks (id, due) VALUES (?, ?)'),
    requestStop: db.prepare<[number, number]>(
      `UPDATE rex_job_states SET cancel_publish = 1, exec_due = NULL, kill_due = ? WHERE id = ? AND state IN ${EXECUTING} AND kill_due IS NULL`,
    ),
    hostQueue: db.prepare<[string], { job_uuid: string }>(
      'SELECT job_uuid FROM rex_job_specs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id',
    ),
    deliver: db.prepare<[string, number, number, number]>(
      `UPDATE rex_job_states SET state = 2, output_state = 2, delivery = ?, delivered_at = ?, reported_at = ?,
         notify_at = NULL, slot_until = NULL, pickup_due = NULL
       WHERE id = ? AND state IN ${PICKUP}`,
    ),
    inFlight: db.prepare<[number, number], { n: number }>(
      `SELECT (SELECT COUNT(*) FROM rex_job_states WHERE state IN ${EXECUTING} AND orphan_since IS NULL AND reported_at >= ?)
         + (SELECT COUNT(*) FROM rex_job_states WHERE slot_until > ?) AS n`,
    ),
    heard: db.prepare<[number, number]>('UPDATE rex_job_states SET reported_at = ?, orphan_since = NULL, orphan_due = NULL WHERE id = ?'),
    markOrphans: db.prepare<[number, number]>(
      `UPDATE rex_job_states SET orphan_since = ?, orphan_due = ? WHERE state IN ${EXECUTING} AND orphan_since IS NULL`,
    ),
    // Orphans of an earlier restart keep their start, and take the bound configured now.
    reboundOrphans: db.prepare<[number]>('UPDATE rex_job_states SET orphan_due = orphan_since + ? WHERE orphan_due IS NOT NULL'),
    orphans: db.prepare<[number], JobRow>(`${JOB} WHERE t.orphan_due IS NOT NULL ORDER BY t.orphan_due, t.id LIMIT ?`),
    cancelAfterEnd: db.prepare<[number]>('UPDATE rex_job_states SET cancel_publish = 1 WHERE id = ?'),
    dueDoorbells: db.prepare<[number, number], TargetRow>(`${TARGET} WHERE t.notify_at <= ? ORDER BY t.notify_at, t.id LIMIT ?`),
    markRinging: db.prepare<[number, number, number, number]>(
      `UPDATE rex_job_states SET state = CASE WHEN state = 0 THEN 1 ELSE state END, output_state = CASE WHEN state = 0 THEN 1 ELSE state END,
         slot_until = ?, notify_at = ?, doorbells = doorbells + 1
       WHERE id = ? AND notify_at <= ?`,
    ),
    reschedule: db.prepare<[number, number]>('UPDATE rex_job_states SET notify_at = ? WHERE id = ? AND notify_at IS NOT NULL'),
    dueCancels: db.prepare<[number], TargetRow>(`${TARGET} WHERE t.cancel_publish = 1 LIMIT ?`),
    cancelPublished: db.prepare<[number]>('UPDATE rex_job_states SET cancel_publish = 0 WHERE id = ? AND cancel_publish = 1'),
    duePickups: db.prepare<[number, number], { task_id: string; at: number }>(DUE('pickup_due')),
    dueExec: db.prepare<[number, number], { task_id: string; at: number }>(DUE('exec_due')),
    dueKills: db.prepare<[number, number], { task_id: string; at: number }>(DUE('kill_due')),
    dueOrphans: db.prepare<[number, number], { task_id: string; at: number }>(DUE('orphan_due')),
    nextDue: db.prepare<[], { at: number | null }>(
      `SELECT MIN(at) AS at FROM (
         SELECT MIN(pickup_due) AS at FROM rex_job_states WHERE pickup_due IS NOT NULL
         UNION ALL SELECT MIN(exec_due) FROM rex_job_states WHERE exec_due IS NOT NULL
         UNION ALL SELECT MIN(kill_due) FROM rex_job_states WHERE kill_due IS NOT NULL
         UNION ALL SELECT MIN(orphan_due) FROM rex_job_states WHERE orphan_due IS NOT NULL
         UNION ALL SELECT MIN(notify_at) FROM rex_job_states WHERE notify_at IS NOT NULL)`,
    ),
    // The earliest owed callbacks, through rex_job_callbacks_due: those leased in memory are
    // skipped by the caller (their lease says when), so it reads one more than it holds leases.
    earliestCallbacks: db.prepare<[number], { id: number; due: number }>('SELECT id, due FROM rex_job_callbacks ORDER BY due LIMIT ?'),
    dueCallbacks: db.prepare<[number, number], { id: number; task_id: string; callback: string; attempts: number }>(
      `SELECT o.id, s.task_id, s.callback, o.attempts FROM rex_job_callbacks o JOIN rex_job_specs s ON s.id = o.id
       WHERE o.due <= ? ORDER BY o.due LIMIT ?`,
    ),
    callbackDue: db.prepare<[number], { due: number }>('SELECT due FROM rex_job_callbacks WHERE id = ?'),
    releaseCallbacks: db.prepare<[number, number]>('UPDATE rex_job_callbacks SET due = ? WHERE due > ?'),
    // Accepted: the row goes; a count of failed POSTs stays with the job.
    callbackDelivered: db.prepare<[number], { attempts: number }>('DELETE FROM rex_job_callbacks WHERE id = ? RETURNING attempts'),
    keepAttempts: db.prepare<[number, number]>('UPDATE rex_job_states SET callback_attempts = ? WHERE id = ?'),
    callbackFailed: db.prepare<[number, string, number]>('UPDATE rex_job_callbacks SET due = ?, attempts = attempts + 1, error = ? WHERE id = ?'),
    // Read in row order rather than through an index on finished_at: once a minute, over narrow rows.
    prunable: db.prepare<[number, number], { id: number; task_id: string }>(
      `SELECT t.id, s.task_id FROM rex_job_states t JOIN rex_job_specs s ON s.id = t.id
       WHERE t.finished_at < ? AND NOT EXISTS (SELECT 1 FROM rex_job_callbacks o WHERE o.id = t.id) LIMIT ?`,
    ),
    pruneSpec: db.prepare<[number]>('DELETE FROM rex_job_specs WHERE id = ?'),
    pruneState: db.prepare<[number]>('DELETE FROM rex_job_states WHERE id = ?'),
    pruneOutput: db.prepare<[number]>('DELETE FROM rex_job_output WHERE id = ?'),
    pruneParents: db.prepare<[number]>(
      'DELETE FROM rex_parents WHERE created_at < ? AND NOT EXISTS (SELECT 1 FROM rex_job_specs WHERE parent_id = rex_parents.id)',
    ),
  };
}

export type Statements = ReturnType<typeof prepareStatements>;

export function toTarget(r: TargetRow): DoorbellTarget {
  return { taskId: r.task_id, jobUuid: r.job_uuid, host: r.host, baseUrl: r.base_url, effectiveUser: r.effective_user, rung: r.doorbells };
}

export function jobState(code: number): JobState {
  return JOB_STATES[code]!;
}

export function toRecord(r: JobRow): JobRecord {
  return {
    taskId: r.task_id,
    parentId: r.parent_id,
    jobUuid: r.job_uuid,
    host: r.host,
    operation: r.operation,
    callback: r.callback === null ? null : (JSON.parse(r.callback) as unknown),
    input: JSON.parse(r.input) as Record<string, unknown>,
    script: r.script ?? '',
    effectiveUser: r.effective_user,
    baseUrl: r.base_url,
    state: jobState(r.state),
    outputState: jobState(r.output_state),
    delivery: r.delivery,
    exitStatus: r.exit_status === null ? null : (JSON.parse(r.exit_status) as ExitStatus),
    exitAt: r.exit_us === null ? null : r.exit_us / 1e6,
    stopping: r.kill_due !== null,
    callbackState: r.owed ? 'pending' : r.state === FINISHED && r.callback !== null ? 'done' : 'none',
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
