// The remote-execution spool's tables in the PostgreSQL dialect, as migration steps: the spool
// as the SQLite driver has it (sqlite migrations, "remote-execution job spool"), then what a
// spool shared by several instances adds. Times are epoch ms in BIGINT; JSON stays TEXT so
// that both drivers hold byte-identical documents.

export const PG_SPOOL_TABLES = `
      -- A batch launch (dynflow operation 'ssh'): its children are rex_jobs rows.
      CREATE TABLE rex_parents (
        id TEXT PRIMARY KEY,
        operation TEXT NOT NULL,
        created_at BIGINT NOT NULL
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
        exit_us BIGINT,
        output_seq BIGINT NOT NULL DEFAULT 0,
        output_bytes BIGINT NOT NULL DEFAULT 0,
        output_truncated BIGINT NOT NULL DEFAULT 0,
        last_output_us BIGINT NOT NULL DEFAULT 0,
        notify_at BIGINT,
        slot_until BIGINT,
        doorbells BIGINT NOT NULL DEFAULT 0,
        pickup_due BIGINT,
        exec_due BIGINT,
        kill_due BIGINT,
        cancel_publish BIGINT NOT NULL DEFAULT 0,
        callback_state TEXT NOT NULL DEFAULT 'none' CHECK (callback_state IN ('none', 'pending', 'done')),
        callback_due BIGINT,
        callback_attempts BIGINT NOT NULL DEFAULT 0,
        callback_error TEXT,
        created_at BIGINT NOT NULL,
        delivered_at BIGINT,
        finished_at BIGINT,
        updated_at BIGINT NOT NULL
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
        seq BIGINT NOT NULL,
        output_type TEXT NOT NULL,
        output TEXT NOT NULL,
        at_us BIGINT NOT NULL,
        PRIMARY KEY (task_id, seq)
      );
    `;

/**
 * Shared by instances: who holds a callback lease (so that a restarted instance frees only its
 * own), and an insertion sequence that orders jobs launched in the same millisecond (SQLite
 * orders by rowid).
 */
export const PG_SPOOL_ORPHANS = `
      -- See the SQLite step "remote-execution jobs whose host may never report again".
      ALTER TABLE rex_jobs ADD COLUMN reported_at BIGINT;
      ALTER TABLE rex_jobs ADD COLUMN orphan_since BIGINT;
      ALTER TABLE rex_jobs ADD COLUMN orphan_due BIGINT;
      CREATE INDEX rex_jobs_orphan ON rex_jobs (orphan_due) WHERE orphan_due IS NOT NULL;
`;

export const PG_SPOOL_SHARED = `
      ALTER TABLE rex_jobs ADD COLUMN callback_owner TEXT;
      ALTER TABLE rex_jobs ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
      DROP INDEX rex_jobs_host;
      CREATE INDEX rex_jobs_host ON rex_jobs (host, created_at, seq);
`;

/**
 * A cluster's spool: which instance a job's host talks to and which one claimed its doorbell,
 * so that a survivor takes over exactly what an instance whose lease expired left; output and
 * scripts as bytes, since a PostgreSQL text value cannot hold NUL and a host's output may.
 */
export const PG_SPOOL_CLUSTER = `
      -- The instance that accepted the job's fetch or its host's last update: the one whose
      -- death may have lost the host's next report (hosts never retry a POST).
      ALTER TABLE rex_jobs ADD COLUMN served_by TEXT;
      -- The instance that claimed the job's last doorbell: should it die before the broker
      -- confirmed it, a survivor rings again at once.
      ALTER TABLE rex_jobs ADD COLUMN rung_by TEXT;
      CREATE INDEX rex_jobs_served ON rex_jobs (served_by) WHERE state IN ('delivered', 'running') AND orphan_since IS NULL;
      CREATE INDEX rex_jobs_rung ON rex_jobs (rung_by) WHERE state IN ('ready_for_pickup', 'notified');
      CREATE INDEX rex_jobs_callback_owner ON rex_jobs (callback_owner) WHERE callback_state = 'pending';
      -- UTF-8 bytes: any byte a host sends survives, NUL included.
      ALTER TABLE rex_output ALTER COLUMN output TYPE BYTEA USING convert_to(output, 'UTF8');
      ALTER TABLE rex_jobs ALTER COLUMN script TYPE BYTEA USING convert_to(script, 'UTF8');
`;
