// The schema of the state file, as an ordered list of migrations. Each is applied once, in its
// own transaction, and never edited after release: a change is a new entry at the end of this
// list and of postgresql/migrations.ts, which holds the same versions in PostgreSQL's dialect.
// SQL stays plain (integer/text columns, JSON as TEXT, no SQLite-only types).
import type { Migration } from '../migration.js';

export type { Migration } from '../migration.js';

/**
 * The spool as one row per job (a view over the narrow tables, for `state migrate` and for reading
 * the file by hand). `input`: how a job's launch input is read; `joins`: what that needs.
 */
function rexJobsView(input: string, joins: string): string {
  return `
      CREATE VIEW rex_jobs AS
        SELECT s.id AS id, s.task_id, s.parent_id, s.job_uuid, s.host, s.operation, s.callback, ${input} AS input, COALESCE(c.script, '') AS script,
          s.effective_user, s.base_url,
          CASE t.state WHEN 0 THEN 'ready_for_pickup' WHEN 1 THEN 'notified' WHEN 2 THEN 'delivered' WHEN 3 THEN 'running' ELSE 'finished' END AS state,
          CASE t.output_state WHEN 0 THEN 'ready_for_pickup' WHEN 1 THEN 'notified' WHEN 2 THEN 'delivered' WHEN 3 THEN 'running' ELSE 'finished' END AS output_state,
          t.delivery, t.exit_status, t.exit_us, t.output_seq, t.output_bytes, t.output_truncated, t.last_output_us, t.notify_at, t.slot_until,
          t.doorbells, t.pickup_due, t.exec_due, t.kill_due, t.cancel_publish,
          CASE WHEN o.id IS NOT NULL THEN 'pending' WHEN t.state = 4 AND s.callback IS NOT NULL THEN 'done' ELSE 'none' END AS callback_state,
          o.due AS callback_due, COALESCE(o.attempts, t.callback_attempts) AS callback_attempts, o.error AS callback_error,
          s.created_at, t.delivered_at, t.finished_at,
          MAX(s.created_at, COALESCE(t.finished_at, 0), COALESCE(t.reported_at, 0), COALESCE(t.delivered_at, 0)) AS updated_at,
          t.reported_at, t.orphan_since, t.orphan_due
        FROM rex_job_specs s JOIN rex_job_states t ON t.id = s.id LEFT JOIN rex_job_scripts c ON c.id = s.id
          LEFT JOIN rex_job_callbacks o ON o.id = s.id${joins};
`;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'saga log and desired-state ledger',
    sql: `
      -- AUTOINCREMENT: ids are never reused after pruning, so an id in an old log line
      -- cannot point at a different saga.
      CREATE TABLE sagas (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        feature TEXT NOT NULL,
        route TEXT NOT NULL,
        request TEXT NOT NULL,
        targets TEXT NOT NULL,
        snapshots TEXT NOT NULL DEFAULT '{}',
        status TEXT NOT NULL
          CHECK (status IN ('open', 'completed', 'compensating', 'compensated')),
        answer_status INTEGER,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      -- Serves both "unfinished" (by status) and pruning (status + age).
      CREATE INDEX sagas_status ON sagas (status, updated_at);

      -- One row per backend, so that results arriving for different backends never
      -- overwrite each other.
      CREATE TABLE saga_results (
        saga_id INTEGER NOT NULL REFERENCES sagas (id) ON DELETE CASCADE,
        backend TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (saga_id, backend)
      );

      CREATE TABLE ledger (
        feature TEXT NOT NULL,
        key TEXT NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('put', 'delete')),
        request TEXT NOT NULL,
        version INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (feature, key)
      );
      CREATE INDEX ledger_feature_version ON ledger (feature, version);

      -- No foreign key to ledger: an applied row may be noted before or after its entry.
      CREATE TABLE ledger_applied (
        feature TEXT NOT NULL,
        key TEXT NOT NULL,
        backend TEXT NOT NULL,
        version INTEGER NOT NULL,
        PRIMARY KEY (feature, key, backend)
      );

      -- The global ledger version. Its own row rather than MAX(ledger.version), which would
      -- go backwards once the newest entry (a tombstone) is pruned.
      CREATE TABLE ledger_sequence (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
      );
      INSERT INTO ledger_sequence (id, version) VALUES (1, 0);
    `,
  },
  {
    version: 2,
    name: 'remote-execution job spool',
    sql: `
      -- A batch launch (dynflow operation 'ssh'): its children are rex_jobs rows.
      CREATE TABLE rex_parents (
        id TEXT PRIMARY KEY,
        operation TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );

      -- One row per job: the child task Foreman knows by task_id (its own plan uuid), the job
      -- the host knows by job_uuid. Times are epoch ms; a NULL due column means "not scheduled".
      CREATE TABLE rex_jobs (
        task_id TEXT PRIMARY KEY,
        parent_id TEXT,
        job_uuid TEXT NOT NULL UNIQUE,
        host TEXT NOT NULL,
        operation TEXT NOT NULL,
        -- Foreman's {"task_id","step_id"}, JSON, or NULL when no callback was asked for.
        callback TEXT,
        -- The action input echoed in status answers (script and secrets left out), JSON.
        input TEXT NOT NULL,
        script TEXT NOT NULL,
        effective_user TEXT,
        base_url TEXT NOT NULL,
        state TEXT NOT NULL
          CHECK (state IN ('ready_for_pickup', 'notified', 'delivered', 'running', 'finished')),
        -- What PullScript's output.state says: the last state before 'finished'.
        output_state TEXT NOT NULL,
        -- Nonce of the doorbell whose fetch was accepted ('' for a fetch without one).
        delivery TEXT,
        -- JSON: an integer, or "EXCEPTION".
        exit_status TEXT,
        exit_us INTEGER,
        output_seq INTEGER NOT NULL DEFAULT 0,
        output_bytes INTEGER NOT NULL DEFAULT 0,
        output_truncated INTEGER NOT NULL DEFAULT 0,
        last_output_us INTEGER NOT NULL DEFAULT 0,
        notify_at INTEGER,
        slot_until INTEGER,
        doorbells INTEGER NOT NULL DEFAULT 0,
        pickup_due INTEGER,
        exec_due INTEGER,
        kill_due INTEGER,
        cancel_publish INTEGER NOT NULL DEFAULT 0,
        callback_state TEXT NOT NULL DEFAULT 'none' CHECK (callback_state IN ('none', 'pending', 'done')),
        callback_due INTEGER,
        callback_attempts INTEGER NOT NULL DEFAULT 0,
        callback_error TEXT,
        created_at INTEGER NOT NULL,
        delivered_at INTEGER,
        finished_at INTEGER,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX rex_jobs_parent ON rex_jobs (parent_id);
      CREATE INDEX rex_jobs_host ON rex_jobs (host, created_at);
      CREATE INDEX rex_jobs_state ON rex_jobs (state);
      -- Partial indexes: each scheduler query reads only the rows it may act on.
      CREATE INDEX rex_jobs_notify ON rex_jobs (notify_at) WHERE notify_at IS NOT NULL;
      CREATE INDEX rex_jobs_slot ON rex_jobs (slot_until) WHERE slot_until IS NOT NULL;
      CREATE INDEX rex_jobs_pickup ON rex_jobs (pickup_due) WHERE pickup_due IS NOT NULL;
      CREATE INDEX rex_jobs_exec ON rex_jobs (exec_due) WHERE exec_due IS NOT NULL;
      CREATE INDEX rex_jobs_kill ON rex_jobs (kill_due) WHERE kill_due IS NOT NULL;
      CREATE INDEX rex_jobs_cancel ON rex_jobs (task_id) WHERE cancel_publish = 1;
      CREATE INDEX rex_jobs_callback ON rex_jobs (callback_due) WHERE callback_state = 'pending';
      CREATE INDEX rex_jobs_finished ON rex_jobs (finished_at) WHERE finished_at IS NOT NULL;

      -- Output in the order it was accepted; timestamps (epoch microseconds) strictly increase
      -- per job so that Foreman, which orders by time, keeps that order.
      CREATE TABLE rex_output (
        task_id TEXT NOT NULL REFERENCES rex_jobs (task_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        output_type TEXT NOT NULL,
        output TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        PRIMARY KEY (task_id, seq)
      );
    `,
  },
  {
    version: 3,
    name: 'plugin modules: forwarded dynflow task owners, OpenSCAP report spool',
    sql: `
      -- A forwarded task lives on one backend; every later call about it goes there only.
      CREATE TABLE dynflow_task_owners (
        task_id TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        operation TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX dynflow_task_owners_created ON dynflow_task_owners (created_at);

      -- Uploaded ARF reports: spooled until Foreman has them, then kept for its reads.
      CREATE TABLE arf_reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        cname TEXT NOT NULL,
        policy_id TEXT NOT NULL,
        date INTEGER NOT NULL,
        digest TEXT NOT NULL,
        body BLOB NOT NULL,
        state TEXT NOT NULL,
        foreman_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX arf_reports_due ON arf_reports (next_attempt_at) WHERE state = 'queued';
      CREATE INDEX arf_reports_foreman ON arf_reports (foreman_id, cname, date, digest);
    `,
  },
  {
    version: 4,
    name: 'remote-execution jobs whose host may never report again',
    sql: `
      -- When the host was last heard from for this job (its fetch or an update), epoch ms: a
      -- fetched job silent for longer than rex.mqtt.silent_slot_timeout stops holding a
      -- rate-limit slot.
      ALTER TABLE rex_jobs ADD COLUMN reported_at INTEGER;
      -- Set at start-up on jobs that were fetched and unfinished when the previous process
      -- ended (the host may have sent its exit while nothing listened): when that start was,
      -- and when the job is reported failed unless the host reports first
      -- (rex.lost_report_timeout). Any report from the host clears both.
      ALTER TABLE rex_jobs ADD COLUMN orphan_since INTEGER;
      ALTER TABLE rex_jobs ADD COLUMN orphan_due INTEGER;
      CREATE INDEX rex_jobs_orphan ON rex_jobs (orphan_due) WHERE orphan_due IS NOT NULL;
    `,
  },
  {
    version: 5,
    name: 'several instances on one state',
    // PostgreSQL only (instances table, shared spool columns): one SQLite file has one instance.
    sql: '-- nothing on SQLite',
  },
  {
    version: 6,
    name: 'sagas owned by the instance that began them',
    // One SQLite file has one instance: every saga is owned by 'local' (the column keeps the
    // schema the same as PostgreSQL's, so that `state migrate` copies it).
    sql: `ALTER TABLE sagas ADD COLUMN owner TEXT;`,
  },
  {
    version: 7,
    name: 'remote-execution spool of a cluster',
    // PostgreSQL only (which instance serves a job; output as bytes): one SQLite file has one
    // instance, and its TEXT holds any string, NUL included.
    sql: '-- nothing on SQLite',
  },
  {
    version: 8,
    name: 'lagging backends kept with the state',
    sql: `
      -- A backend behind the ledger on a feature (it missed writes, was reset, or is new): it
      -- serves no reads of the feature until catch-up has replayed its backlog.
      CREATE TABLE lagging_backends (
        feature TEXT NOT NULL,
        backend TEXT NOT NULL,
        since INTEGER NOT NULL,
        PRIMARY KEY (feature, backend)
      );
    `,
  },
  {
    version: 9,
    name: 'indexes for the retention clean-up',
    sql: `
      -- Reports past openscap_report_retention are found without reading every report body.
      CREATE INDEX arf_reports_created ON arf_reports (created_at);
    `,
  },
  {
    version: 10,
    name: 'remote-execution spool in narrow rows',
    // SQLite only (PostgreSQL keeps one row per job). In WAL mode every commit writes each page
    // it changed whole, so a state change should change few pages: what a job is launched with
    // is written once (rex_job_specs), what changes as it runs lives in a narrow row
    // (rex_job_states, codes for states), the script is dropped when the job ends, output is
    // kept per job, and a result owed to Foreman is a small row of its own (rex_job_callbacks). Task ids and hosts are looked up through a map the spool
    // keeps in memory (built when it opens the file): indexes on random keys would rewrite a
    // page per job at every launch. rex_jobs and rex_output remain, as views, for
    // \`state migrate\` and for reading the file by hand.
    sql: `
      CREATE TABLE rex_job_specs (
        -- Launch order.
        id INTEGER PRIMARY KEY,
        task_id TEXT NOT NULL,
        job_uuid TEXT NOT NULL,
        host TEXT NOT NULL,
        parent_id TEXT,
        operation TEXT NOT NULL,
        callback TEXT,
        input TEXT NOT NULL,
        effective_user TEXT,
        base_url TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      -- Job uuids are time-ordered (rex/job-uuid.ts): a launch appends to this index.
      CREATE UNIQUE INDEX rex_job_specs_uuid ON rex_job_specs (job_uuid);
      CREATE INDEX rex_job_specs_parent ON rex_job_specs (parent_id) WHERE parent_id IS NOT NULL;

      CREATE TABLE rex_job_states (
        id INTEGER PRIMARY KEY,
        -- 0 ready_for_pickup, 1 notified, 2 delivered, 3 running, 4 finished.
        state INTEGER NOT NULL CHECK (state BETWEEN 0 AND 4),
        output_state INTEGER NOT NULL CHECK (output_state BETWEEN 0 AND 4),
        delivery TEXT,
        exit_status TEXT,
        exit_us INTEGER,
        output_seq INTEGER NOT NULL DEFAULT 0,
        output_bytes INTEGER NOT NULL DEFAULT 0,
        output_truncated INTEGER NOT NULL DEFAULT 0,
        last_output_us INTEGER NOT NULL DEFAULT 0,
        notify_at INTEGER,
        slot_until INTEGER,
        doorbells INTEGER NOT NULL DEFAULT 0,
        pickup_due INTEGER,
        exec_due INTEGER,
        kill_due INTEGER,
        cancel_publish INTEGER NOT NULL DEFAULT 0,
        -- Failed POSTs of a result Foreman has accepted since (while owed: rex_job_callbacks).
        callback_attempts INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        finished_at INTEGER,
        reported_at INTEGER,
        orphan_since INTEGER,
        orphan_due INTEGER
      );
      -- Partial indexes: each holds only jobs it may act on, mostly in time order.
      CREATE INDEX rex_job_states_notify ON rex_job_states (notify_at) WHERE notify_at IS NOT NULL;
      CREATE INDEX rex_job_states_slot ON rex_job_states (slot_until) WHERE slot_until IS NOT NULL;
      -- Covering: the count of jobs in flight reads only this index.
      CREATE INDEX rex_job_states_heard ON rex_job_states (reported_at, state, orphan_since) WHERE state IN (2, 3) AND orphan_since IS NULL;
      CREATE INDEX rex_job_states_pickup ON rex_job_states (pickup_due) WHERE pickup_due IS NOT NULL;
      CREATE INDEX rex_job_states_exec ON rex_job_states (exec_due) WHERE exec_due IS NOT NULL;
      CREATE INDEX rex_job_states_kill ON rex_job_states (kill_due) WHERE kill_due IS NOT NULL;
      CREATE INDEX rex_job_states_orphan ON rex_job_states (orphan_due) WHERE orphan_due IS NOT NULL;
      CREATE INDEX rex_job_states_cancel ON rex_job_states (id) WHERE cancel_publish = 1;

      -- Results owed to Foreman: a row from the job's end until Foreman accepted it, so that
      -- leasing and acknowledging a batch rewrites a few pages of small rows, not the jobs'.
      CREATE TABLE rex_job_callbacks (
        id INTEGER PRIMARY KEY,
        due INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT
      );
      CREATE INDEX rex_job_callbacks_due ON rex_job_callbacks (due);

      -- Scripts of unfinished jobs.
      CREATE TABLE rex_job_scripts (
        id INTEGER PRIMARY KEY,
        script TEXT NOT NULL
      );

      -- Output per job in the order it was accepted. Without rowid: one tree to write, not two,
      -- and jobs that run at the same time have neighbouring ids, so a commit touches few pages.
      CREATE TABLE rex_job_output (
        id INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        output_type TEXT NOT NULL,
        output TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        PRIMARY KEY (id, seq)
      ) WITHOUT ROWID;

      INSERT INTO rex_job_specs (id, task_id, job_uuid, host, parent_id, operation, callback, input, effective_user, base_url, created_at)
        SELECT rowid, task_id, job_uuid, host, parent_id, operation, callback, input, effective_user, base_url, created_at FROM rex_jobs ORDER BY rowid;
      INSERT INTO rex_job_states (id, state, output_state, delivery, exit_status, exit_us, output_seq, output_bytes, output_truncated,
          last_output_us, notify_at, slot_until, doorbells, pickup_due, exec_due, kill_due, cancel_publish, callback_attempts,
          delivered_at, finished_at, reported_at, orphan_since, orphan_due)
        SELECT rowid,
          CASE state WHEN 'ready_for_pickup' THEN 0 WHEN 'notified' THEN 1 WHEN 'delivered' THEN 2 WHEN 'running' THEN 3 ELSE 4 END,
          CASE output_state WHEN 'ready_for_pickup' THEN 0 WHEN 'notified' THEN 1 WHEN 'delivered' THEN 2 WHEN 'running' THEN 3 ELSE 4 END,
          delivery, exit_status, exit_us, output_seq, output_bytes, output_truncated, last_output_us, notify_at, slot_until, doorbells,
          pickup_due, exec_due, kill_due, cancel_publish, callback_attempts, delivered_at, finished_at,
          -- A fetched job is counted in flight from when its host was last heard from.
          CASE WHEN reported_at IS NULL AND state IN ('delivered', 'running') THEN updated_at ELSE reported_at END,
          orphan_since, orphan_due
        FROM rex_jobs ORDER BY rowid;
      INSERT INTO rex_job_scripts (id, script) SELECT rowid, script FROM rex_jobs WHERE state <> 'finished' ORDER BY rowid;
      INSERT INTO rex_job_callbacks (id, due, attempts, error)
        SELECT rowid, COALESCE(callback_due, 0), callback_attempts, callback_error FROM rex_jobs WHERE callback_state = 'pending' ORDER BY rowid;
      INSERT INTO rex_job_output (id, seq, output_type, output, at_us)
        SELECT j.rowid, o.seq, o.output_type, o.output, o.at_us FROM rex_output o JOIN rex_jobs j ON j.task_id = o.task_id ORDER BY j.rowid, o.seq;
      DROP TABLE rex_output;
      DROP TABLE rex_jobs;

      -- The spool as one row per job, with the columns and values it had before.
${rexJobsView('s.input', '')}
      CREATE VIEW rex_output AS
        SELECT s.task_id, o.seq, o.output_type, o.output, o.at_us FROM rex_job_output o JOIN rex_job_specs s ON s.id = o.id;
    `,
  },
  {
    version: 11,
    name: 'launch inputs as patches of their batch',
    // SQLite only. A batch's children share most of their launch input: the parent keeps the
    // first child's, each child a JSON merge patch against it (input-patch.ts), about a third
    // of a job's launch row. Rows stored whole keep input_patched = 0.
    sql: `
      ALTER TABLE rex_parents ADD COLUMN input TEXT;
      ALTER TABLE rex_job_specs ADD COLUMN input_patched INTEGER NOT NULL DEFAULT 0;
      DROP VIEW rex_jobs;
${rexJobsView('CASE WHEN s.input_patched = 1 THEN json_patch(p.input, s.input) ELSE s.input END', ' LEFT JOIN rex_parents p ON p.id = s.parent_id')}
    `,
  },
];
