// Brings a SQLite state file up to the schema this build knows, one migration per
// transaction. Safe when two processes (the daemon and the drift CLI) open a file at once:
// each step re-reads the version under the write lock, so a migration is applied only once.
import type Database from 'better-sqlite3';
import { checkOrder, SchemaTooNewError, type MigrateResult, type Migration } from '../migration.js';
import { MIGRATIONS } from './migrations.js';

export { SchemaTooNewError, type MigrateResult } from '../migration.js';

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
  if (from > known) throw new SchemaTooNewError(`state file ${db.name}`, from, known);
  for (const m of migrations) {
    db.transaction(() => {
      const v = versionNow();
      if (v > known) throw new SchemaTooNewError(`state file ${db.name}`, v, known);
      if (v >= m.version) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
  }
  return { from, to: versionNow() };
}
