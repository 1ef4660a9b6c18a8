// Real state on every driver (a SQLite file in a fresh temporary directory, a fresh PostgreSQL
// database), with a clock the test moves by hand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { openSqliteStateStore, stateFilePath } from '../../src/state/sqlite/open.js';
import type { StateStore, StoredRequest } from '../../src/state/store.js';
import { freshDatabase } from '../support/postgres.js';

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'pp-state-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
}

export interface StoreFixture {
  clock: ReturnType<typeof manualClock>;
  /** Opens the state (again): another connection, as a restart or a second instance would. */
  open(): Promise<StateStore>;
  /** Saga ids that still have result rows, read past the store. */
  resultSagaIds(): Promise<number[]>;
  cleanup(): Promise<void>;
}

export interface StoreDriver {
  name: 'sqlite' | 'postgresql';
  fixture(): Promise<StoreFixture>;
}

/** Every driver the StateStore tests run against, each on a fresh, empty state. */
export const STORE_DRIVERS: StoreDriver[] = [
  {
    name: 'sqlite',
    async fixture() {
      const { dir, remove } = tempDir();
      const opened: StateStore[] = [];
      const clock = manualClock();
      return {
        clock,
        async open() {
          const s = openSqliteStateStore(dir, { now: clock.now });
          opened.push(s);
          return s;
        },
        async resultSagaIds() {
          const raw = new Database(stateFilePath(dir), { readonly: true });
          try {
            return (raw.prepare('SELECT DISTINCT saga_id AS id FROM saga_results ORDER BY saga_id').all() as { id: number }[]).map((r) => r.id);
          } finally {
            raw.close();
          }
        },
        async cleanup() {
          for (const s of opened) await s.close();
          remove();
        },
      };
    },
  },
  {
    name: 'postgresql',
    async fixture() {
      const url = await freshDatabase();
      const opened: StateStore[] = [];
      const clock = manualClock();
      return {
        clock,
        async open() {
          const s = await PgStateStore.open({ url, poolSize: 4 }, { now: clock.now });
          opened.push(s);
          return s;
        },
        async resultSagaIds() {
          const c = new pg.Client({ connectionString: url });
          await c.connect();
          try {
            return (await c.query<{ id: string }>('SELECT DISTINCT saga_id AS id FROM saga_results ORDER BY saga_id')).rows.map((r) => Number(r.id));
          } finally {
            await c.end();
          }
        },
        async cleanup() {
          for (const s of opened) await s.close();
        },
      };
    },
  },
];

export function formRequest(path: string, body = ''): StoredRequest {
  return {
    method: body ? 'POST' : 'DELETE',
    path,
    query: '',
    body,
    headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
  };
}
