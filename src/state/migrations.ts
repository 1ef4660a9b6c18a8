// The schema of the state file, as an ordered list of migrations. Each is applied once, in its
// own transaction, and never edited after release: a change is a new entry at the end.
// SQL stays plain (integer/text columns, JSON as TEXT, no SQLite-only types) so that a
// PostgreSQL store can mirror it; AUTOINCREMENT is the one spot that needs translating.

export interface Migration {
  /** 1, 2, 3… with no gaps: the schema version the file has once this one is applied. */
  version: number;
  name: string;
  sql: string;
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
];
