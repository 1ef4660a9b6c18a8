// A state file written before the spool moved into narrow rows (migration 10): its jobs — queued,
// running, finished with the result still owed, finished and reported — come through whole, and
// the spool carries on with them where they were.
import { describe, it, expect, afterEach } from '@jest/globals';
import Database from 'better-sqlite3';
import { migrate } from '../../src/state/sqlite/migrate.js';
import { MIGRATIONS } from '../../src/state/sqlite/migrations.js';
import { prepareStateFile } from '../../src/state/sqlite/open.js';
import { openJobStore } from '../../src/state/open-job-store.js';
import { tempDir } from './temp-store.js';

const T0 = 1_700_000_000_000;
const NARROW = MIGRATIONS.findIndex((m) => m.name === 'remote-execution spool in narrow rows');

/** The spool as the rows before migration 10 held it. */
function writeOldSpool(file: string): void {
  const db = new Database(file);
  try {
    migrate(db, MIGRATIONS.slice(0, NARROW));
    db.prepare("INSERT INTO rex_parents (id, operation, created_at) VALUES ('parent-1', 'ssh', ?)").run(T0);
    const insert = db.prepare(
      `INSERT INTO rex_jobs (task_id, parent_id, job_uuid, host, operation, callback, input, script, effective_user, base_url, state, output_state,
         delivery, exit_status, exit_us, output_seq, output_bytes, last_output_us, notify_at, slot_until, doorbells, pickup_due, callback_state,
         callback_due, callback_attempts, created_at, delivered_at, finished_at, updated_at, reported_at)
       VALUES (@task, 'parent-1', @uuid, @host, 'ssh', @callback, @input, @script, 'root', 'https://proxy.example.test', @state, @outputState,
         @delivery, @exit, @exitUs, @seq, @bytes, @lastUs, @notify, @slot, @doorbells, @pickup, @cbState, @cbDue, @cbAttempts, @created,
         @delivered, @finished, @updated, @reported)`,
    );
    const base = {
      callback: '{"task_id":"ft","step_id":3}',
      script: 'echo hi',
      delivery: null,
      exit: null,
      exitUs: null,
      seq: 0,
      bytes: 0,
      lastUs: 0,
      notify: null,
      slot: null,
      doorbells: 0,
      pickup: null,
      cbState: 'none',
      cbDue: null,
      cbAttempts: 0,
      created: T0,
      delivered: null,
      finished: null,
      updated: T0,
      reported: null,
    };
    // Launched and rung, not fetched yet.
    insert.run({ ...base, task: 'queued', uuid: 'u-queued', host: 'h1.example.test', input: '{"hostname":"h1"}', state: 'notified', outputState: 'notified', notify: T0 + 60_000, slot: T0 + 5000, doorbells: 1, pickup: T0 + 86_400_000 });
    // Fetched before migration 4 added reported_at: it counts in flight from its last change.
    insert.run({ ...base, task: 'running', uuid: 'u-running', host: 'h2.example.test', input: '{"hostname":"h2"}', state: 'running', outputState: 'running', delivery: 'n2', seq: 1, bytes: 3, lastUs: (T0 + 1000) * 1000, created: T0 + 1, delivered: T0 + 500, updated: T0 + 1000 });
    // Finished, its result not yet accepted by Foreman (one failed POST so far).
    insert.run({ ...base, task: 'owed', uuid: 'u-owed', host: 'h3.example.test', input: '{"hostname":"h3"}', script: '', state: 'finished', outputState: 'running', delivery: '', exit: '0', exitUs: (T0 + 2000) * 1000, seq: 2, bytes: 6, lastUs: (T0 + 1999) * 1000, cbState: 'pending', cbDue: T0 + 3000, cbAttempts: 1, created: T0 + 2, delivered: T0 + 600, finished: T0 + 2000, updated: T0 + 2000, reported: T0 + 2000 });
    // Finished and reported.
    insert.run({ ...base, task: 'done', uuid: 'u-done', host: 'h4.example.test', input: '{"hostname":"h4"}', script: '', state: 'finished', outputState: 'delivered', delivery: '', exit: '"EXCEPTION"', exitUs: (T0 + 2500) * 1000, seq: 1, lastUs: (T0 + 2400) * 1000, cbState: 'done', cbAttempts: 0, created: T0 + 3, delivered: T0 + 700, finished: T0 + 2500, updated: T0 + 2600, reported: T0 + 700 });
    const output = db.prepare('INSERT INTO rex_output (task_id, seq, output_type, output, at_us) VALUES (?, ?, ?, ?, ?)');
    output.run('running', 0, 'stdout', 'hi\n', (T0 + 1000) * 1000);
    output.run('owed', 1, 'stdout', 'two\n', (T0 + 1999) * 1000);
    output.run('owed', 0, 'stdout', 'one\n', (T0 + 1998) * 1000);
    output.run('done', 0, 'debug', 'The job was cancelled', (T0 + 2400) * 1000);
  } finally {
    db.close();
  }
}

describe('spool migration to narrow rows', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('keeps every job, its output and what is owed, and the spool carries on from there', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const file = prepareStateFile(tmp.dir);
    writeOldSpool(file);
    const store = openJobStore(tmp.dir);
    cleanups.push(() => store.close());
    expect(store.migrated.from).toBe(NARROW);

    expect(await store.task('queued')).toMatchObject({ state: 'notified', outputState: 'notified', script: 'echo hi', input: { hostname: 'h1' }, callback: { task_id: 'ft', step_id: 3 }, effectiveUser: 'root', parentId: 'parent-1' });
    expect(await store.task('running')).toMatchObject({ state: 'running', delivery: 'n2', reportedAt: T0 + 1000, deliveredAt: T0 + 500 });
    expect(await store.task('owed')).toMatchObject({ state: 'finished', exitStatus: 0, callbackState: 'pending', callbackAttempts: 1, script: '' });
    expect(await store.task('done')).toMatchObject({ state: 'finished', outputState: 'delivered', exitStatus: 'EXCEPTION', callbackState: 'done', finishedAt: T0 + 2500 });
    expect(await store.output('owed')).toEqual([
      { output_type: 'stdout', output: 'one\n', timestamp: (T0 + 1998) / 1000 },
      { output_type: 'stdout', output: 'two\n', timestamp: (T0 + 1999) / 1000 },
    ]);
    expect(await store.parent('parent-1')).toMatchObject({ children: 4, unfinished: 2, lastFinishedAt: T0 + 2500 });
    expect(await store.countByState()).toEqual({ notified: 1, running: 1, finished: 2 });

    // The rung job holds its slot, the running one counts from its last change.
    expect(await store.inFlight(T0 + 1000, T0 + 1000)).toBe(2);
    expect(await store.inFlight(T0 + 6000, T0 + 1001)).toBe(0);
    expect(await store.hostQueue('h1.example.test')).toEqual(['u-queued']);
    expect((await store.dueDoorbells(T0 + 60_000, 10)).map((d) => [d.taskId, d.rung])).toEqual([['queued', 1]]);
    expect(await store.dueCallbacks(T0 + 3000, 10)).toEqual([{ taskId: 'owed', callback: { task_id: 'ft', step_id: 3 }, attempts: 1 }]);
    expect(await store.nextDue()).toBe(T0 + 3000);

    // Carrying on: the queued job is fetched and finished, the running one too, and both are owed.
    expect(await store.deliver('u-queued', 'h1.example.test', 'n1', T0 + 10_000)).toMatchObject({ state: 'delivered', script: 'echo hi' });
    expect(await store.hostQueue('h1.example.test')).toEqual([]);
    expect(await store.applyUpdates('u-queued', 'h1.example.test', 'n1', [{ kind: 'exit', code: 0 }], T0 + 11_000, 1e6)).toBe('finished');
    expect(await store.applyUpdates('u-running', 'h2.example.test', 'n2', [{ kind: 'output', stream: 'stdout', content: 'more\n' }, { kind: 'exit', code: 3 }], T0 + 12_000, 1e6)).toBe('finished');
    expect((await store.output('running')).map((o) => o.output)).toEqual(['hi\n', 'more\n']);
    expect((await store.dueCallbacks(T0 + 20_000, 10)).map((c) => c.taskId).sort()).toEqual(['owed', 'queued', 'running']);
    await store.callbacksDelivered(['owed', 'queued', 'running'], T0 + 20_000);
    expect(await store.prune(T0 + 30_000, 10)).toBe(4);
    expect(await store.countJobs('all')).toBe(0);
    expect(await store.parent('parent-1')).toBeUndefined();
  });

  it('leaves views with the columns and values the spool had, for reading the file by hand and for state migrate', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const file = prepareStateFile(tmp.dir);
    writeOldSpool(file);
    await openJobStore(tmp.dir).close();
    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare("SELECT task_id, state, output_state, callback_state, script, reported_at FROM rex_jobs ORDER BY id").all();
      expect(rows).toEqual([
        { task_id: 'queued', state: 'notified', output_state: 'notified', callback_state: 'none', script: 'echo hi', reported_at: null },
        { task_id: 'running', state: 'running', output_state: 'running', callback_state: 'none', script: 'echo hi', reported_at: T0 + 1000 },
        { task_id: 'owed', state: 'finished', output_state: 'running', callback_state: 'pending', script: '', reported_at: T0 + 2000 },
        { task_id: 'done', state: 'finished', output_state: 'delivered', callback_state: 'done', script: '', reported_at: T0 + 700 },
      ]);
      expect(db.prepare('SELECT task_id, seq, output FROM rex_output ORDER BY task_id, seq').all()).toEqual([
        { task_id: 'done', seq: 0, output: 'The job was cancelled' },
        { task_id: 'owed', seq: 0, output: 'one\n' },
        { task_id: 'owed', seq: 1, output: 'two\n' },
        { task_id: 'running', seq: 0, output: 'hi\n' },
      ]);
    } finally {
      db.close();
    }
  });
});
