// Brings a PostgreSQL state database up to the schema this build knows, one migration per
// transaction. Instances starting together migrate once: each step runs under a transaction
// advisory lock and re-reads the version under it.
import type pg from 'pg';
import { checkOrder, SchemaTooNewError, type MigrateResult, type Migration } from '../migration.js';
import { POSTGRESQL_MIGRATIONS } from './migrations.js';
import { inTransaction } from './pool.js';

/** Advisory lock key of schema changes ('pp-schema' as an int). */
const SCHEMA_LOCK = 0x70702d73;

export async function migratePostgres(pool: pg.Pool, where: string, migrations: readonly Migration[] = POSTGRESQL_MIGRATIONS): Promise<MigrateResult> {
  checkOrder(migrations);
  const known = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  const versionNow = async (c: pg.ClientBase): Promise<number> =>
    (await c.query<{ v: number | null }>('SELECT MAX(version)::int AS v FROM schema_migrations')).rows[0]?.v ?? 0;
  const from = await inTransaction(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await c.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at BIGINT NOT NULL
    )`);
    return versionNow(c);
  });
  if (from > known) throw new SchemaTooNewError(where, from, known);
  for (const m of migrations) {
    await inTransaction(pool, async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      const v = await versionNow(c);
      if (v > known) throw new SchemaTooNewError(where, v, known);
      if (v >= m.version) return;
      await c.query(m.sql);
      await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, Date.now()]);
    });
  }
  const to = await inTransaction(pool, (c) => versionNow(c));
  return { from, to };
}
