// The drivers every job-store test runs against: each gives a fresh, empty spool, a way to open
// it again (a restart, or another instance on the same state) and a clean-up.
import pg from 'pg';
import { openJobStore } from '../../src/state/open-job-store.js';
import type { JobStore } from '../../src/state/job-store.js';
import { PgJobStore } from '../../src/state/postgresql/job-store.js';
import { migratePostgres } from '../../src/state/postgresql/migrate.js';
import { freshDatabase } from '../support/postgres.js';
import { tempDir } from './temp-store.js';

/** A spool on a fresh PostgreSQL database; each open() is another instance on it. */
export async function pgSpool(): Promise<{ url: string; open(instanceId?: string): PgJobStore; cleanup(): Promise<void> }> {
  const url = await freshDatabase();
  // The whole schema, as a daemon has it (the spool reads the instances table).
  const setup = new pg.Pool({ connectionString: url, max: 1 });
  try {
    await migratePostgres(setup, 'test spool');
  } finally {
    await setup.end();
  }
  const opened: PgJobStore[] = [];
  let n = 0;
  return {
    url,
    open(instanceId = `instance-${++n}`) {
      const s = new PgJobStore(new pg.Pool({ connectionString: url, max: 4 }), { instanceId, ownsPool: true });
      opened.push(s);
      return s;
    },
    async cleanup() {
      for (const s of opened.splice(0)) await s.close();
    },
  };
}

export interface JobStoreFixture {
  /** Opens the spool (again): the previous handle stays open until cleanup unless closed. */
  open(): Promise<JobStore>;
  cleanup(): Promise<void>;
}

export interface JobStoreDriver {
  name: string;
  create(): Promise<JobStoreFixture>;
}

export function jobStoreDrivers(): JobStoreDriver[] {
  return [
    {
      name: 'sqlite',
      async create() {
        const tmp = tempDir();
        const opened: JobStore[] = [];
        return {
          async open() {
            // One connection at a time on a file in these tests: a reopen closes the last.
            await opened.at(-1)?.close();
            const s = openJobStore(tmp.dir);
            opened.push(s);
            return s;
          },
          async cleanup() {
            for (const s of opened) await s.close();
            tmp.remove();
          },
        };
      },
    },
    {
      name: 'postgresql',
      async create() {
        const spool = await pgSpool();
        // A reopen is the same instance after a restart: it keeps its id.
        return { open: async () => spool.open('instance-1'), cleanup: () => spool.cleanup() };
      },
    },
  ];
}
