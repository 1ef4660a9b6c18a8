// `proxy-proxy state migrate --to URL`: copies a SQLite state (saga log with its open sagas,
// ledger, applied and lagging marks, the REX spool and its output, plugin tables) into an empty
// PostgreSQL database, in one transaction, keeping ids. A target that holds any state is refused:
// merging two states could make the ledger lie.
import type Database from 'better-sqlite3';
import { PgStateStore, redact } from './postgresql/store.js';
import { inTransaction } from './postgresql/pool.js';
import { openConnection } from './sqlite/connection.js';
import { prepareStateFile } from './sqlite/open.js';

/** Copied in this order (parents before children); identity columns are set past the copied ids. */
const TABLES: { name: string; order: string; identity?: string }[] = [
  { name: 'sagas', order: 'id', identity: 'id' },
  { name: 'saga_results', order: 'saga_id, backend' },
  { name: 'ledger', order: 'version' },
  { name: 'ledger_applied', order: 'feature, key, backend' },
  { name: 'lagging_backends', order: 'feature, backend' },
  { name: 'rex_parents', order: 'id' },
  // Views over the spool's narrow tables (SQLite migration 10), with PostgreSQL's columns; id is
  // the order jobs were launched in, which PostgreSQL's seq column then keeps.
  { name: 'rex_jobs', order: 'id' },
  { name: 'rex_output', order: 'task_id, seq' },
  { name: 'dynflow_task_owners', order: 'task_id' },
  { name: 'arf_reports', order: 'id', identity: 'id' },
];

export interface CopyReport {
  target: string;
  rows: Record<string, number>;
  unfinishedSagas: number;
  ledgerVersion: number;
}

export class TargetNotEmptyError extends Error {}

export async function copyStateToPostgres(stateDir: string, url: string): Promise<CopyReport> {
  const file = prepareStateFile(stateDir);
  const { db } = openConnection(file);
  try {
    const target = await PgStateStore.open({ url, poolSize: 2 });
    try {
      return await inTransaction(target.pool, async (c) => {
        // Nobody may start on the target while it is filled.
        await c.query(`LOCK TABLE ${TABLES.map((t) => t.name).join(', ')}, ledger_sequence IN EXCLUSIVE MODE`);
        const busy: string[] = [];
        for (const t of TABLES) {
          const n = (await c.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${t.name}`)).rows[0]!.n;
          if (n > 0) busy.push(`${t.name} (${n})`);
        }
        const seq = (await c.query<{ version: number }>('SELECT version FROM ledger_sequence WHERE id = 1')).rows[0]!.version;
        if (busy.length > 0 || seq > 0) {
          throw new TargetNotEmptyError(
            `refusing to copy into ${redact(url)}: it already holds state (${busy.join(', ') || `ledger version ${seq}`}); give an empty database`,
          );
        }
        const rows: Record<string, number> = {};
        for (const t of TABLES) rows[t.name] = await copyTable(db, c, t.name, t.order);
        const version = (db.prepare('SELECT version FROM ledger_sequence WHERE id = 1').get() as { version: number }).version;
        await c.query('UPDATE ledger_sequence SET version = $1 WHERE id = 1', [version]);
        for (const t of TABLES) {
          if (t.identity) await c.query(`SELECT setval(pg_get_serial_sequence('${t.name}', '${t.identity}'), GREATEST((SELECT MAX(${t.identity}) FROM ${t.name}), 1))`);
        }
        const unfinished = (db.prepare("SELECT COUNT(*) AS n FROM sagas WHERE status IN ('open', 'compensating')").get() as { n: number }).n;
        return { target: redact(url), rows, unfinishedSagas: unfinished, ledgerVersion: version };
      });
    } finally {
      await target.close();
    }
  } finally {
    db.close();
  }
}

async function copyTable(db: Database.Database, c: import('pg').PoolClient, table: string, order: string): Promise<number> {
  const target = new Map(
    (await c.query<{ name: string; type: string }>('SELECT column_name AS name, data_type AS type FROM information_schema.columns WHERE table_name = $1', [table])).rows.map(
      (r) => [r.name, r.type],
    ),
  );
  const columns = (db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[]).map((r) => r.name).filter((n) => target.has(n));
  const list = columns.join(', ');
  // Text SQLite keeps where PostgreSQL keeps bytes (job output, scripts): its UTF-8, as the driver writes it.
  const toBytes = columns.map((n) => target.get(n) === 'bytea');
  let n = 0;
  const batch: unknown[][] = [];
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    const values = batch.map((_, r) => `(${columns.map((__, i) => `$${r * columns.length + i + 1}`).join(', ')})`).join(', ');
    await c.query(`INSERT INTO ${table} (${list}) VALUES ${values}`, batch.flat());
    batch.length = 0;
  };
  const rowsPerInsert = Math.max(1, Math.floor(30_000 / Math.max(1, columns.length)));
  for (const row of db.prepare(`SELECT ${list} FROM ${table} ORDER BY ${order}`).raw().iterate() as IterableIterator<unknown[]>) {
    batch.push(row.map((v, i) => (toBytes[i] && typeof v === 'string' ? Buffer.from(v, 'utf8') : v)));
    n++;
    if (batch.length >= rowsPerInsert) await flush();
  }
  await flush();
  return n;
}
