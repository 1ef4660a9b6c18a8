// The spool's rows as PostgreSQL holds them (spool-schema.ts) and their reading into records,
// shared by the store (job-store.ts) and the changes a group transaction runs (job-changes.ts).
import { EXECUTING_STATES, PICKUP_STATES, SpoolUnavailableError, type DoorbellTarget, type ExitStatus, type JobRecord, type JobState } from '../job-store.js';
import { DB_NOW_MS } from './instances.js';
import { isStateUnavailable, unavailableReason } from '../unavailable.js';

export const JOB_COLUMNS =
  'task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url, state, output_state, delivery, ' +
  'exit_status, exit_us, output_seq, output_bytes, output_truncated, last_output_us, kill_due, callback_state, callback_attempts, ' +
  'callback_error, created_at, delivered_at, finished_at, reported_at, orphan_since, orphan_due';
/** What a change needs of the row it locks (not the script, not the documents). */
export const LOCK_COLUMNS = 'task_id, host, state, delivery, kill_due, orphan_due, output_seq, output_bytes, output_truncated, last_output_us';
export const TARGET_COLUMNS = 'task_id, job_uuid, host, base_url, effective_user, doorbells';
const sqlList = (states: readonly string[]) => `(${states.map((s) => `'${s}'`).join(', ')})`;
export const PICKUP = sqlList(PICKUP_STATES);
export const EXECUTING = sqlList(EXECUTING_STATES);
/** Launch order for a host's queue and for doorbells due at the same moment. */
export const ORDER = 'created_at, seq';

/** The instance named in `column` has no live lease (by the database's clock): it is gone. */
export const gone = (column: string): string =>
  `(${column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = ${column} AND i.lease_until > ${DB_NOW_MS}))`;

type Int8 = string | number;

export interface LockedRow {
  task_id: string;
  host: string;
  state: JobState;
  delivery: string | null;
  kill_due: Int8 | null;
  orphan_due: Int8 | null;
  output_seq: Int8;
  output_bytes: Int8;
  output_truncated: Int8;
  last_output_us: Int8;
}

export interface JobRow extends LockedRow {
  parent_id: string | null;
  job_uuid: string;
  operation: string;
  callback: string | null;
  input: string;
  script: Buffer;
  effective_user: string | null;
  base_url: string;
  output_state: JobState;
  exit_status: string | null;
  exit_us: Int8 | null;
  callback_state: JobRecord['callbackState'];
  callback_attempts: Int8;
  callback_error: string | null;
  created_at: Int8;
  delivered_at: Int8 | null;
  finished_at: Int8 | null;
  reported_at: Int8 | null;
  orphan_since: Int8 | null;
}

export interface TargetRow {
  task_id: string;
  job_uuid: string;
  host: string;
  base_url: string;
  effective_user: string | null;
  doorbells: Int8;
}

/** int8 arrives as a string unless the pool was told otherwise: read it either way. */
export const num = (v: Int8): number => (typeof v === 'number' ? v : Number(v));
const numOrNull = (v: Int8 | null): number | null => (v === null ? null : num(v));
/** PostgreSQL text cannot hold NUL (output and scripts are bytes; this is for the rest). */
export const pgText = (s: string): string => (s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s);
/** Text as the bytes a BYTEA column keeps: UTF-8, every character (NUL included) kept. */
export const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

export function toTarget(r: TargetRow): DoorbellTarget {
  return { taskId: r.task_id, jobUuid: r.job_uuid, host: r.host, baseUrl: r.base_url, effectiveUser: r.effective_user, rung: num(r.doorbells) };
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
    script: r.script.toString('utf8'),
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

/** The server is gone or refuses connections (not a bad statement): worth waiting out. */
export const isConnectionError = isStateUnavailable;

export function asUnavailable(err: unknown): unknown {
  if (err instanceof SpoolUnavailableError || !isStateUnavailable(err)) return err;
  return new SpoolUnavailableError(unavailableReason(err));
}
