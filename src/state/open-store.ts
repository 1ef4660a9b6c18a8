// Where the daemon (and the drift CLI) find their state: one SQLite file in the configured
// state directory. The directory is private to the service user: the saga log holds request
// bodies (DHCP reservations, PXE configs) and snapshots of backend answers.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ConnectionOptions } from './sqlite-connection.js';
import { SqliteJobStore } from './sqlite-job-store.js';
import { SqlitePluginStore } from './sqlite-plugin-store.js';
import { SqliteStateStore, type SqliteStoreOptions } from './sqlite-store.js';

export const STATE_FILE_NAME = 'proxy-proxy.sqlite3';

export function stateFilePath(stateDir: string): string {
  return join(stateDir, STATE_FILE_NAME);
}

export function openStateStore(stateDir: string, options: SqliteStoreOptions = {}): SqliteStateStore {
  return new SqliteStateStore(prepareStateFile(stateDir), options);
}

/** The remote-execution job spool, in the same file (it holds scripts: the file stays private). */
export function openJobStore(stateDir: string, options: ConnectionOptions = {}): SqliteJobStore {
  return new SqliteJobStore(prepareStateFile(stateDir), options);
}

/** Forwarded dynflow task owners and OpenSCAP reports, in the same file. */
export function openPluginStore(stateDir: string, options: ConnectionOptions = {}): SqlitePluginStore {
  return new SqlitePluginStore(prepareStateFile(stateDir), options);
}

function prepareStateFile(stateDir: string): string {
  // mode applies only to directories created here; an existing one is the administrator's.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = stateFilePath(stateDir);
  // Created 0600 before SQLite opens it; SQLite gives the -wal and -shm files the same mode.
  closeSync(openSync(file, 'a', 0o600));
  return file;
}
