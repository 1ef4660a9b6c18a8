// A process killed with SIGKILL right after recording loses nothing it recorded. Runs the
// BUILT store (npm test builds first) in a child process, as the daemon would run it.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import { openSqliteStateStore as openStateStore, stateFilePath } from '../../src/state/sqlite/open.js';
import { tempDir } from './temp-store.js';

const BUILT = resolve('dist/src/state/sqlite/open.js');

// Records, reports what it recorded, then idles until killed.
const CHILD = `
const { openSqliteStateStore } = await import(process.env.STORE_MODULE);
const store = openSqliteStateStore(process.env.STATE_DIR, { synchronous: process.env.SYNC_MODE });
const request = { method: 'POST', path: '/tftp/PXEGrub2/00:11:22:33:44:55', query: '', body: 'pxeconfig=x', headers: {} };
const id = await store.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['a', 'b'] });
await store.recordResult(id, 'a', { outcome: 'applied', detail: '200' });
const version = await store.putDesired({ feature: 'tftp', key: 'grub2/00:11:22:33:44:55', op: 'put', request });
await store.markApplied('tftp', 'grub2/00:11:22:33:44:55', 'a', version);
console.log(JSON.stringify({ id, version }));
setInterval(() => {}, 60_000);
`;

function recordThenKill(stateDir: string, syncMode: string): Promise<{ id: number; version: number; signal: string | null }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...process.env, NODE_OPTIONS: '', STORE_MODULE: pathToFileURL(BUILT).href, STATE_DIR: stateDir, SYNC_MODE: syncMode },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`child did not report: ${stderr}`));
    }, 15_000);
    child.once('exit', (code, signal) => fail(new Error(`child exited early (${code ?? signal}): ${stderr}`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      const reported = JSON.parse(line) as { id: number; version: number };
      child.removeAllListeners('exit');
      child.once('exit', (_code, signal) => ok({ ...reported, signal }));
      child.kill('SIGKILL');
    });
  });
}

describe('state after kill -9', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('finds the built store (run `npm run build` first)', () => {
    expect(existsSync(BUILT)).toBe(true);
  });

  for (const mode of ['normal', 'barrier']) {
    it(`keeps the open saga, its result and the ledger entry (synchronous: ${mode})`, async () => {
      const { id, version, signal } = await recordThenKill(tmp.dir, mode);
      expect(signal).toBe('SIGKILL');
      // Killed before any checkpoint: what it recorded lives only in the WAL.
      expect(statSync(`${stateFilePath(tmp.dir)}-wal`).size).toBeGreaterThan(0);

      const store = openStateStore(tmp.dir);
      try {
        const saga = await store.getSaga(id);
        expect(saga).toMatchObject({ status: 'open', targets: ['a', 'b'] });
        expect(saga!.results).toEqual({ a: { outcome: 'applied', detail: '200' }, b: { outcome: 'pending' } });
        expect((await store.unfinishedSagas()).map((s) => s.id)).toEqual([id]);
        expect((await store.getDesired('tftp', 'grub2/00:11:22:33:44:55'))?.version).toBe(version);
        expect(await store.appliedVersion('tftp', 'grub2/00:11:22:33:44:55', 'a')).toBe(version);
        expect((await store.backlog('tftp', 'b')).map((e) => e.version)).toEqual([version]);
      } finally {
        await store.close();
      }
    });
  }
});
