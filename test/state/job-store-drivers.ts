// The drivers every job-store test runs against: each gives a fresh, empty spool, a way to open
// it again (a restart, or another instance on the same state) and a clean-up.
import { openJobStore } from '../../src/state/open-store.js';
import type { JobStore } from '../../src/state/job-store.js';
import { tempDir } from './temp-store.js';

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
  ];
}
