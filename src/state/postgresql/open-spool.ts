// The remote-execution spool on a PostgreSQL database shared by a cluster: the store on a pool
// of its own, and the listener that hears what the other instances announce.
import pg from 'pg';
import type { JobStore } from '../job-store.js';
import { PgJobStore } from './job-store.js';
import { SpoolListener, type SpoolEvent } from './spool-events.js';

export interface SharedSpool {
  store: JobStore;
  /** Starts hearing the other instances' announcements; stop() ends it. */
  listen(onEvent: (event: SpoolEvent) => void, onProblem: (message: string) => void): { stop(): Promise<void> };
}

export interface PgSpoolSettings {
  url: string;
  poolSize?: number;
  /** Written on the callback leases this instance takes. */
  instanceId: string;
}

/** The spool on a pool the instance already has (its state store's); the pool stays the owner's. */
export function spoolOnPool(pool: pg.Pool, url: string, instanceId: string): SharedSpool {
  return {
    store: new PgJobStore(pool, { instanceId }),
    listen(onEvent, onProblem) {
      const listener = new SpoolListener({ connectionString: url, keepAlive: true }, onEvent, onProblem);
      listener.start();
      return listener;
    },
  };
}

export function openPgSpool(settings: PgSpoolSettings): SharedSpool {
  const pool = new pg.Pool({
    connectionString: settings.url,
    max: settings.poolSize ?? 10,
    application_name: `proxy-proxy rex ${settings.instanceId}`.slice(0, 63),
    // A server that does not answer must not hold a host's request for long (host-api waits it out).
    connectionTimeoutMillis: 3000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
  });
  return {
    store: new PgJobStore(pool, { instanceId: settings.instanceId, ownsPool: true }),
    listen(onEvent, onProblem) {
      const listener = new SpoolListener({ connectionString: settings.url, keepAlive: true }, onEvent, onProblem);
      listener.start();
      return listener;
    },
  };
}
