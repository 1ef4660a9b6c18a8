// The plugin modules' tables in the PostgreSQL dialect: as the SQLite driver has them (sqlite
// migrations, "plugin modules"), plus who claimed a report for its POST to Foreman and when, so
// that one instance's restart never takes a peer's POST in flight for abandoned.
export const PG_PLUGIN_TABLES = `
      CREATE TABLE dynflow_task_owners (
        task_id TEXT PRIMARY KEY,
        backend TEXT NOT NULL,
        operation TEXT NOT NULL,
        created_at BIGINT NOT NULL
      );
      CREATE INDEX dynflow_task_owners_created ON dynflow_task_owners (created_at);

      CREATE TABLE arf_reports (
        id BIGSERIAL PRIMARY KEY,
        cname TEXT NOT NULL,
        policy_id TEXT NOT NULL,
        date BIGINT NOT NULL,
        digest TEXT NOT NULL,
        body BYTEA NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'rejected', 'unknown')),
        foreman_id TEXT,
        attempts BIGINT NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        claimed_at BIGINT
      );
      CREATE INDEX arf_reports_due ON arf_reports (next_attempt_at) WHERE state = 'queued';
      CREATE INDEX arf_reports_foreman ON arf_reports (foreman_id, cname, date, digest);
`;
