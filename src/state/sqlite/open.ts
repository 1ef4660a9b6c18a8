// Where the SQLite driver keeps its state: one file in the configured state directory. The
// directory is private to the service user: the saga log holds request bodies (DHCP
// reservations, PXE configs) and snapshots of backend answers, the job spool holds scripts.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { SqliteStateStore, type SqliteStoreOptions } from './store.js';

export const STATE_FILE_NAME = 'proxy-proxy.sqlite3';

export function stateFilePath(stateDir: string): string {
  return join(stateDir, STATE_FILE_NAME);
}

export function openSqliteStateStore(stateDir: string, options: SqliteStoreOptions = {}): SqliteStateStore {
  return new SqliteStateStore(prepareStateFile(stateDir), options);
}

/** Creates the directory and the file with private modes; returns the file's path. */
export function prepareStateFile(stateDir: string): string {
  // mode applies only to directories created here; an existing one is the administrator's.
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = stateFilePath(stateDir);
  // Created 0600 before SQLite opens it; SQLite gives the -wal and -shm files the same mode.
  closeSync(openSync(file, 'a', 0o600));
  return file;
}
