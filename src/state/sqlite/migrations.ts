// The schema of the state file, as an ordered list of migrations. Each is applied once, in its
// own transaction, and never edited after release: a change is a new entry at the end of this
// list and of postgresql/migrations.ts, which holds the same versions in PostgreSQL's dialect.
// SQL stays plain (integer/text columns, JSON as TEXT, no SQLite-only types).
import type { Migration } from '../migration.js';

export type { Migration } from '../migration.js';

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
];
