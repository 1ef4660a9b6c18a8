// The remote-execution job spool on the state file. Apart from open-store.ts so that a daemon
// without REX never loads the spool's code.
import type { ConnectionOptions } from './sqlite/connection.js';
import { SqliteJobStore } from './sqlite/job-store.js';
import { prepareStateFile } from './sqlite/open.js';

/** The job spool, in the same file as the state (it holds scripts: the file stays private). */
export function openJobStore(stateDir: string, options: ConnectionOptions = {}): SqliteJobStore {
  return new SqliteJobStore(prepareStateFile(stateDir), options);
}
