// The SQLite spool's outbox: the rows of callbacks Foreman accepted go with the next group
// commit instead of a commit of their own (each commit rewrites every page it touches), and
// callback leases live in memory.
// Counted in the WAL's commit frames. And an acknowledged callback stays acknowledged across
// kill -9.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createInterface } from 'node:readline';
import type { NewJob } from '../../src/state/job-store.js';
import { SqliteJobStore } from '../../src/state/sqlite/job-store.js';
import { tempDir } from './temp-store.js';
import { newJob } from './new-job.js';

const T0 = 1_700_000_000_000;

const job = (n: number): NewJob => newJob(n, { input: { hostname: `h${n}` } });

/** Commits in the WAL file since it was last reset (commit frames with the header's salt). */
function walCommits(file: string): number {
  const wal = readFileSync(`${file}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt = wal.subarray(16, 24);
  let commits = 0;
  for (let off = 32; off + 24 + pageSize <= wal.length; off += 24 + pageSize) {
    if (!wal.subarray(off + 8, off + 16).equals(salt)) break;
    if (wal.readUInt32BE(off + 4) !== 0) commits += 1;
  }
  return commits;
}

const CLAIM = { now: T0, limit: 10, rateLimit: null, silentBefore: 0, slotUntil: T0 + 5000, retryAt: T0 + 45_000 };

describe('SQLite spool: the callback outbox', () => {
  let file: string;
  let store: SqliteJobStore;
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    dir = tempDir();
    file = join(dir.dir, 'spool.sqlite3');
    store = new SqliteJobStore(file);
    await store.insertLaunch(null, [job(1), job(2), job(3)], T0);
    await store.finish('task-1', 0, [], T0);
    await store.finish('task-2', 0, [], T0);
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it('deletes delivered callbacks in the next group transaction, one commit with its changes', async () => {
    expect(await store.leaseCallbacks(['task-1', 'task-2'], T0, T0 + 30_000)).toEqual(['task-1', 'task-2']);
    const before = walCommits(file);
    const order: string[] = [];
    const delivered = store.callbacksDelivered(['task-1'], T0).then(() => order.push('task-1'));
    const more = store.callbacksDelivered(['task-2'], T0).then(() => order.push('task-2'));
    // Nothing written yet: both wait for a transaction.
    expect(walCommits(file)).toBe(before);
    expect((await store.task('task-1'))!.callbackState).toBe('pending');
    // Still leased meanwhile: nobody sends them again.
    expect(await store.dueCallbacks(T0 + 1000, 10)).toEqual([]);
    const [settled] = await store.transact([async (tx) => tx.deliver('uuid-3', 'h3.example.test', 'd3', T0)], false);
    order.push('group');
    expect(settled).toMatchObject({ ok: true, value: { state: 'delivered' } });
    expect(walCommits(file)).toBe(before + 1);
    await Promise.all([delivered, more]);
    expect(order).toEqual(['task-1', 'task-2', 'group']);
    expect((await store.task('task-1'))!.callbackState).toBe('done');
    expect(await store.dueCallbacks(T0 + 60_000, 10)).toEqual([]);
  });

  it('deletes them on their own when no transaction comes', async () => {
    expect(await store.leaseCallbacks(['task-1'], T0, T0 + 30_000)).toEqual(['task-1']);
    const before = walCommits(file);
    await store.callbacksDelivered(['task-1'], T0);
    expect(walCommits(file)).toBe(before + 1);
    expect((await store.task('task-1'))!.callbackState).toBe('done');
    // Its lease went with the row: a callback owed again later is due.
    expect((await store.dueCallbacks(T0 + 1000, 10)).map((d) => d.taskId)).toEqual(['task-2']);
  });

  it('keeps callback leases in memory: not due while held, due at the lease end, released by a restart', async () => {
    // task-3 rung: its next doorbell is due after the lease below runs out.
    await store.claimDoorbells(CLAIM);
    const before = walCommits(file);
    expect(await store.leaseCallbacks(['task-1'], T0, T0 + 30_000)).toEqual(['task-1']);
    expect(await store.leaseCallbacks(['task-1'], T0 + 1, T0 + 40_000)).toEqual([]);
    expect(walCommits(file)).toBe(before);
    expect((await store.dueCallbacks(T0 + 1000, 10)).map((d) => d.taskId)).toEqual(['task-2']);
    expect(await store.leaseCallbacks(['task-2'], T0, T0 + 20_000)).toEqual(['task-2']);
    expect(await store.nextDue()).toBe(T0 + 20_000);
    // The POST never came back: due again once its lease ran out.
    expect((await store.dueCallbacks(T0 + 30_000, 10)).map((d) => d.taskId)).toEqual(['task-1', 'task-2']);
    await store.close();
    store = new SqliteJobStore(file);
    expect(await store.releaseCallbacks(T0 + 1000)).toBe(0);
    expect((await store.dueCallbacks(T0 + 1000, 10)).map((d) => d.taskId)).toEqual(['task-1', 'task-2']);
  });
});

// Finishes a job, leases and acknowledges its callback, reports, then idles until killed.
const CHILD = `
const { SqliteJobStore } = await import(process.env.STORE_MODULE);
const store = new SqliteJobStore(process.env.STATE_FILE);
const job = (n) => ({ taskId: 'task-' + n, parentId: null, jobUuid: 'uuid-' + n, host: 'h' + n, operation: 'ssh', callback: { task_id: 'ft-' + n },
  input: {}, script: 'echo hi', effectiveUser: null, baseUrl: 'https://p', pickupDue: null, execDue: null });
await store.insertLaunch(null, [job(1), job(2)], 1);
await store.finish('task-1', 0, [], 2);
await store.finish('task-2', 0, [], 2);
await store.leaseCallbacks(['task-1', 'task-2'], 3, 60000);
await store.callbacksDelivered(['task-1'], 4);
console.log('acknowledged');
setInterval(() => {}, 60_000);
`;

describe('SQLite spool: kill -9', () => {
  it('keeps an acknowledged callback acknowledged, and owes the leased one again', async () => {
    const dir = tempDir();
    const file = join(dir.dir, 'spool.sqlite3');
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      env: { ...process.env, NODE_OPTIONS: '', STORE_MODULE: pathToFileURL(resolve('dist/src/state/sqlite/job-store.js')).href, STATE_FILE: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const line = await new Promise<string>((done, fail) => {
      createInterface({ input: child.stdout }).once('line', done);
      child.once('exit', (code) => fail(new Error(`child exited ${code}: ${stderr}`)));
    });
    expect(line).toBe('acknowledged');
    const exited = new Promise((done) => child.once('exit', (_code, signal) => done(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const store = new SqliteJobStore(file);
    try {
      expect((await store.task('task-1'))!.callbackState).toBe('done');
      await store.releaseCallbacks(10);
      expect((await store.dueCallbacks(10, 10)).map((d) => d.taskId)).toEqual(['task-2']);
    } finally {
      await store.close();
      dir.remove();
    }
  }, 30_000);
});
