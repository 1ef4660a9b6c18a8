// The connection pool every PostgreSQL store of one daemon shares. int8 columns (epoch ms,
// versions, ids) come back as JavaScript numbers: every value we store stays far below 2^53.
import pg from 'pg';
import { StateUnavailableError } from '../unavailable.js';

export interface PoolSettings {
  url: string;
  /** Connections at most (the key locks of replicated writes have a pool of this size of their own). */
  poolSize?: number;
  /** Names this instance in pg_stat_activity. */
  applicationName?: string;
}

const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function createPool(settings: PoolSettings): pg.Pool {
  const pool = new pg.Pool({
    connectionString: settings.url,
    max: settings.poolSize ?? 10,
    application_name: settings.applicationName ?? 'proxy-proxy',
    // A server that does not answer must not hold a request past its deadline.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    types,
  });
  // An idle client whose server went away reports here; without a listener Node would exit.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn` in one transaction on one pooled connection; rolls back on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

/**
 * The pool as the stores see it while the database is not usable yet (unreachable at start, its
 * schema not brought up to date): queries and connections are refused at once with
 * StateUnavailableError and `closedBecause()`'s reason, so that nothing runs on a schema that is
 * not there. Once it returns undefined the pool works as itself.
 */
export function gatedPool(pool: pg.Pool, closedBecause: () => string | undefined): pg.Pool {
  return new Proxy(pool, {
    get(target, prop) {
      if (prop === 'query' || prop === 'connect') {
        return (...args: unknown[]) => {
          const reason = closedBecause();
          if (reason !== undefined) return Promise.reject(new StateUnavailableError(reason));
          return (target[prop] as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
