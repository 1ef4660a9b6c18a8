// Real state files in a fresh temporary directory, with a clock the test moves by hand.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStateStore } from '../../src/state/sqlite/open.js';
import type { SqliteStateStore, SqliteStoreOptions } from '../../src/state/sqlite/store.js';
import type { StoredRequest } from '../../src/state/store.js';

export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'pp-state-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function manualClock(start = 1_700_000_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms), set: (ms: number) => (t = ms) };
}

/** Opens stores on one directory and closes them all (and removes it) in `cleanup`. */
export function storeFixture() {
  const { dir, remove } = tempDir();
  const opened: SqliteStateStore[] = [];
  const clock = manualClock();
  return {
    dir,
    clock,
    open(options: SqliteStoreOptions = {}): SqliteStateStore {
      const s = openSqliteStateStore(dir, { now: clock.now, ...options });
      opened.push(s);
      return s;
    },
    async cleanup(): Promise<void> {
      for (const s of opened) await s.close();
      remove();
    },
  };
}

export function formRequest(path: string, body = ''): StoredRequest {
  return {
    method: body ? 'POST' : 'DELETE',
    path,
    query: '',
    body,
    headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
  };
}
