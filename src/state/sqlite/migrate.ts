// Brings a SQLite state file up to the schema this build knows, one migration per
// transaction. Safe when two processes (the daemon and the drift CLI) open a file at once:
// each step re-reads the version under the write lock, so a migration is applied only once.
import type Database from 'better-sqlite3';
import { MIGRATIONS, type Migration } from './migrations.js';

/** The file was written by a newer proxy-proxy; this one must not touch it. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly fileVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `state file ${file} has schema version ${fileVersion}, but this proxy-proxy knows only up to ` +
        `version ${knownVersion}; run a proxy-proxy at least as new as the one that wrote it`,
    );
    this.name = 'SchemaTooNewError';
  }
}

export interface MigrateResult {
  from: number;
  to: number;
}

export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): MigrateResult {
  checkOrder(migrations);
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const current = db.prepare<[], { v: number | null }>('SELECT MAX(version) AS v FROM schema_migrations');
  const record = db.prepare<[number, string, number]>('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const versionNow = (): number => current.get()?.v ?? 0;

  const from = versionNow();
  if (from > known) throw new SchemaTooNewError(db.name, from, known);
  for (const m of migrations) {
    db.transaction(() => {
      const v = versionNow();
      if (v > known) throw new SchemaTooNewError(db.name, v, known);
      if (v >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
  }
  return { from, to: versionNow() };
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
}
