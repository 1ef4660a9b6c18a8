import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import Database from 'better-sqlite3';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openConnection } from '../../src/state/sqlite/connection.js';
import { openSqliteStateStore as openStateStore, stateFilePath } from '../../src/state/sqlite/open.js';
import { formRequest, tempDir } from './temp-store.js';

describe('openStateStore', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('creates a private state directory and file, in WAL mode with 1 KiB pages', async () => {
    const stateDir = join(tmp.dir, 'var', 'lib', 'proxy-proxy');
    await openStateStore(stateDir).close();
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const file = stateFilePath(stateDir);
    expect(file).toBe(join(stateDir, 'proxy-proxy.sqlite3'));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const db = new Database(file, { readonly: true });
    try {
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      // Each commit writes whole pages: small ones for the spool's scattered small changes.
      expect(db.pragma('page_size', { simple: true })).toBe(1024);
    } finally {
      db.close();
    }
  });

  it('keeps the page size of a file made before, and its statement journals in memory', async () => {
    const stateDir = join(tmp.dir, 'state');
    mkdirSync(stateDir, { recursive: true });
    const old = new Database(stateFilePath(stateDir));
    old.pragma('journal_mode = WAL');
    old.exec('CREATE TABLE made_before (x)');
    old.close();
    const { db } = openConnection(stateFilePath(stateDir));
    try {
      expect(db.pragma('page_size', { simple: true })).toBe(4096);
      // 2: MEMORY. A group commit's savepoints would otherwise spill to temp files.
      expect(db.pragma('temp_store', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('keeps sagas, the ledger and applied versions across close and reopen', async () => {
    for (const synchronous of ['normal', 'barrier', 'full'] as const) {
      const dir = join(tmp.dir, synchronous);
      const first = openStateStore(dir, { synchronous });
      const id = await first.beginSaga({ feature: 'dhcp', route: 'dhcp.create', request: formRequest('/dhcp/192.0.2.0', 'mac=52:54:00:aa:00:01'), targets: ['a', 'b'] });
      await first.recordResult(id, 'a', { outcome: 'applied', detail: '200' });
      await first.setSagaStatus(id, 'compensating', 409);
      await first.scheduleRetry(id, 1234, 'b: ECONNRESET');
      const version = await first.putDesired({ feature: 'dhcp', key: '192.0.2.0/52:54:00:aa:00:01', op: 'put', request: formRequest('/dhcp/192.0.2.0', 'mac=x') });
      await first.markApplied('dhcp', '192.0.2.0/52:54:00:aa:00:01', 'a', version);
      const saga = await first.getSaga(id);
      const ledger = await first.ledger('dhcp');
      await first.close();

      const second = openStateStore(dir, { synchronous });
      expect(await second.getSaga(id)).toEqual(saga);
      expect(await second.unfinishedSagas()).toEqual([saga]);
      expect(await second.ledger('dhcp')).toEqual(ledger);
      expect(await second.appliedVersion('dhcp', '192.0.2.0/52:54:00:aa:00:01', 'a')).toBe(version);
      expect(await second.backlogSize('dhcp', 'b')).toBe(1);
      await second.close();
    }
  });

  it('waits busy_timeout for a peer holding the write lock, then fails', async () => {
    const store = openStateStore(tmp.dir, { busyTimeoutMs: 150 });
    const peer = new Database(stateFilePath(tmp.dir));
    try {
      peer.exec('BEGIN IMMEDIATE');
      const started = Date.now();
      await expect(store.putDesired({ feature: 'tftp', key: 'k', op: 'put', request: formRequest('/tftp/k', 'x') })).rejects.toMatchObject({ message: expect.stringMatching(/locked|busy/i) });
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      // Readers are not blocked by a writer in WAL mode.
      expect(await store.ledger('tftp')).toEqual([]);
      peer.exec('ROLLBACK');
      expect(await store.putDesired({ feature: 'tftp', key: 'k', op: 'put', request: formRequest('/tftp/k', 'x') })).toBe(1);
    } finally {
      peer.close();
      await store.close();
    }
  });
});
