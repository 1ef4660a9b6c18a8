import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { migrate, SchemaTooNewError } from '../../src/state/sqlite/migrate.js';
import { MIGRATIONS, type Migration } from '../../src/state/sqlite/migrations.js';
import { openSqliteStateStore as openStateStore, stateFilePath } from '../../src/state/sqlite/open.js';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { POSTGRESQL_MIGRATIONS } from '../../src/state/postgresql/migrations.js';
import { freshDatabase } from '../support/postgres.js';
import { tempDir } from './temp-store.js';

const LATEST = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function tables(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map(
      (r) => r.name,
    );
  } finally {
    db.close();
  }
}

function appliedVersions(file: string): number[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[]).map((r) => r.version);
  } finally {
    db.close();
  }
}

describe('schema migrations', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('creates the whole schema in a new file, and a reopen applies nothing twice', async () => {
    const store = openStateStore(tmp.dir);
    expect(store.migrated).toEqual({ from: 0, to: LATEST });
    await store.close();
    const file = stateFilePath(tmp.dir);
    expect(tables(file)).toEqual(['arf_reports', 'dynflow_task_owners', 'lagging_backends', 'ledger', 'ledger_applied', 'ledger_sequence', 'rex_job_callbacks', 'rex_job_output', 'rex_job_scripts', 'rex_job_specs', 'rex_job_states', 'rex_parents', 'saga_results', 'sagas', 'schema_migrations']);
    const again = openStateStore(tmp.dir);
    expect(again.migrated).toEqual({ from: LATEST, to: LATEST });
    await again.close();
    expect(appliedVersions(file)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it('refuses a file written by a newer schema, and leaves it untouched', async () => {
    await openStateStore(tmp.dir).close();
    const file = stateFilePath(tmp.dir);
    const db = new Database(file);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(LATEST + 1, 'from the future', 0);
    db.close();

    let error: unknown;
    try {
      openStateStore(tmp.dir);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SchemaTooNewError);
    expect((error as Error).message).toBe(
      `state file ${file} has schema version ${LATEST + 1}, but this proxy-proxy knows only up to version ${LATEST}; ` +
        'run a proxy-proxy at least as new as the one that wrote it',
    );
    expect(appliedVersions(file)).toEqual([...MIGRATIONS.map((m) => m.version), LATEST + 1]);
  });

  describe('with a made-up history', () => {
    const m1: Migration = { version: 1, name: 'items', sql: 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)' };
    const m2: Migration = { version: 2, name: 'item colour', sql: "ALTER TABLE items ADD COLUMN colour TEXT NOT NULL DEFAULT 'grey'" };
    let db: Database.Database;
    beforeEach(() => {
      db = new Database(join(tmp.dir, 'history.sqlite3'));
    });
    afterEach(() => {
      db.close();
    });

    it('upgrades an old file by applying only the migrations it lacks, keeping its data', () => {
      expect(migrate(db, [m1])).toEqual({ from: 0, to: 1 });
      db.prepare("INSERT INTO items (name) VALUES ('pxe')").run();
      expect(migrate(db, [m1, m2])).toEqual({ from: 1, to: 2 });
      expect(db.prepare('SELECT name, colour FROM items').all()).toEqual([{ name: 'pxe', colour: 'grey' }]);
      expect(migrate(db, [m1, m2])).toEqual({ from: 2, to: 2 });
    });

    it('rolls a failing migration back whole and records nothing for it', () => {
      const bad: Migration = { version: 2, name: 'half done', sql: 'CREATE TABLE extra (a TEXT); INSERT INTO missing VALUES (1);' };
      migrate(db, [m1]);
      expect(() => migrate(db, [m1, bad])).toThrow(/no such table: missing/);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'extra'").all()).toEqual([]);
      expect(migrate(db, [m1, m2])).toEqual({ from: 1, to: 2 });
    });

    it('refuses a list with a gap or out of order', () => {
      expect(() => migrate(db, [m2])).toThrow('migration "item colour" has version 2, expected 1');
      expect(() => migrate(db, [m2, m1])).toThrow(/expected 1/);
    });
  });
});

describe('schema migrations on PostgreSQL', () => {
  it('lists the same versions under the same names as SQLite', () => {
    expect(POSTGRESQL_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
  });

  it('creates the whole schema in an empty database; a second instance applies nothing twice; a newer schema is refused', async () => {
    const url = await freshDatabase();
    const first = await PgStateStore.open({ url, poolSize: 2 });
    const second = await PgStateStore.open({ url, poolSize: 2 });
    try {
      expect(first.migrated).toEqual({ from: 0, to: LATEST });
      expect(second.migrated).toEqual({ from: LATEST, to: LATEST });
      const tables = await first.pool.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename");
      expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(['ledger', 'ledger_applied', 'ledger_sequence', 'rex_jobs', 'saga_results', 'sagas', 'instances']));
      const applied = await first.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      expect(applied.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      await first.pool.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 0)', [LATEST + 1, 'from the future']);
    } finally {
      await first.close();
      await second.close();
    }
    await expect(PgStateStore.open({ url, poolSize: 1 })).rejects.toThrow(
      new RegExp(`has schema version ${LATEST + 1}, but this proxy-proxy knows only up to version ${LATEST}`),
    );
  });
});
