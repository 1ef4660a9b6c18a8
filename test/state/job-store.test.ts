// The spool's storage contract: guarded transitions, single delivery, ordered output,
// callbacks owed until acknowledged, housekeeping, and group transactions.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import type { JobStore, NewJob } from '../../src/state/job-store.js';
import { jobStoreDrivers, type JobStoreFixture } from './job-store-drivers.js';
import { newJob } from './new-job.js';

const T0 = 1_700_000_000_000;

function job(n: number, over: Partial<NewJob> = {}): NewJob {
  return newJob(n, { parentId: 'parent-1', input: { hostname: `h${n}` }, pickupDue: T0 + 60_000, ...over });
}

describe.each(jobStoreDrivers())('job store on $name', (driver) => {
  let fixture: JobStoreFixture;
  let store: JobStore;
  beforeEach(async () => {
    fixture = await driver.create();
    store = await fixture.open();
  });
  afterEach(async () => {
    await fixture.cleanup();
  });

  it('stores a launch whole and leaves known task ids as they are', async () => {
    expect(await store.insertLaunch({ id: 'parent-1', operation: 'ssh' }, [job(1), job(2)], T0)).toEqual({ existing: [] });
    expect(await store.insertLaunch(null, [job(2, { jobUuid: 'other' }), job(3, { parentId: null })], T0)).toEqual({ existing: ['task-2'] });
    expect((await store.task('task-2'))!.jobUuid).toBe('uuid-2');
    expect(await store.parent('parent-1')).toMatchObject({ children: 2, unfinished: 2 });
    expect(await store.task('task-1')).toMatchObject({ state: 'ready_for_pickup', callback: { task_id: 'ft-1', step_id: 3 }, input: { hostname: 'h1' } });
    expect([await store.countJobs('unfinished'), await store.countJobs('finished'), await store.countParents()]).toEqual([3, 0, 1]);
  });

  it('rings due doorbells, counts them in flight for their slot, then resends only unfetched ones', async () => {
    await store.insertLaunch(null, [job(1), job(2)], T0);
    expect((await store.dueDoorbells(T0, 10)).map((d) => d.taskId)).toEqual(['task-1', 'task-2']);
    expect(await store.markRinging(['task-1', 'task-2'], T0, T0 + 5000, T0 + 45_000)).toEqual(['task-1', 'task-2']);
    // Rung by someone else meanwhile: not due any more, not taken twice.
    expect(await store.markRinging(['task-1'], T0, T0 + 5000, T0 + 45_000)).toEqual([]);
    expect((await store.task('task-1'))!.state).toBe('notified');
    expect(await store.inFlight(T0 + 1000, 0)).toBe(2);
    expect(await store.dueDoorbells(T0 + 1000, 10)).toEqual([]);
    await store.rescheduleDoorbells(['task-1', 'task-2'], T0 + 60_000);
    expect(await store.deliver('uuid-1', 'h1.example.test', 'n1', T0 + 2000)).toMatchObject({ state: 'delivered', delivery: 'n1' });
    // Slot of the unfetched one expired; the fetched one counts until it finishes.
    expect(await store.inFlight(T0 + 6000, 0)).toBe(1);
    expect((await store.dueDoorbells(T0 + 60_000, 10)).map((d) => d.taskId)).toEqual(['task-2']);
    // A confirmation arriving after the fetch does not bring its doorbell back.
    await store.rescheduleDoorbells(['task-1'], T0 + 1);
    expect((await store.dueDoorbells(T0 + 60_000, 10)).map((d) => d.taskId)).toEqual(['task-2']);
  });

  it('claims due doorbells oldest first within the rate limit, counting the slots already held', async () => {
    await store.insertLaunch(null, [1, 2, 3, 4, 5].map((n) => job(n)), T0);
    const claim = (now: number, rateLimit: number | null, limit = 10) =>
      store.claimDoorbells({ now, limit, rateLimit, silentBefore: 0, slotUntil: now + 5000, retryAt: now + 45_000 });
    expect((await claim(T0, 2)).map((d) => [d.taskId, d.rung])).toEqual([
      ['task-1', 0],
      ['task-2', 0],
    ]);
    // Two slots held: nothing more until one is freed.
    expect(await claim(T0 + 1000, 2)).toEqual([]);
    await store.deliver('uuid-1', 'h1.example.test', '', T0 + 1000);
    await store.applyUpdates('uuid-1', 'h1.example.test', '', [{ kind: 'exit', code: 0 }], T0 + 1000, 1e6);
    expect((await claim(T0 + 1000, 2)).map((d) => d.taskId)).toEqual(['task-3']);
    expect((await store.task('task-3'))!.state).toBe('notified');
    // Without a limit only `limit` bounds it; the unfetched ones' slots count again once their slot ended.
    expect((await claim(T0 + 1000, null, 1)).map((d) => d.taskId)).toEqual(['task-4']);
    expect((await claim(T0 + 1000, null)).map((d) => d.taskId)).toEqual(['task-5']);
    expect((await claim(T0 + 46_000, 3)).map((d) => [d.taskId, d.rung])).toEqual([
      ['task-2', 1],
      ['task-3', 1],
      ['task-4', 1],
    ]);
  });

  it('frees the slot of a fetched job whose host is silent past the bound or since a restart, and takes it back on a report', async () => {
    await store.insertLaunch(null, [job(1), job(2), job(3)], T0);
    await store.markRinging(['task-1', 'task-2', 'task-3'], T0, T0 + 1000, T0 + 45_000);
    for (const n of [1, 2, 3]) await store.deliver(`uuid-${n}`, `h${n}.example.test`, 'n', T0 + n * 1000);
    expect((await store.task('task-2'))!.reportedAt).toBe(T0 + 2000);
    // Heard from at T0+1000…3000: a bound reaching back to T0+2500 leaves only the last one counting.
    expect(await store.inFlight(T0 + 10_000, T0)).toBe(3);
    expect(await store.inFlight(T0 + 10_000, T0 + 2500)).toBe(1);
    expect(await store.applyUpdates('uuid-1', 'h1.example.test', 'n', [{ kind: 'output', stream: 'stdout', content: 'x' }], T0 + 5000, 1e6)).toBe('accepted');
    expect(await store.inFlight(T0 + 10_000, T0 + 2500)).toBe(2);

    // A restart: every fetched unfinished job is an orphan, holds no slot, and is due at the bound.
    const restart = T0 + 20_000;
    expect(await store.markOrphans(restart, 30_000)).toBe(3);
    // Another restart: nothing new, the first start stays, the bound is the one configured now.
    expect(await store.markOrphans(restart + 1000, 60_000)).toBe(0);
    expect(await store.inFlight(restart, 0)).toBe(0);
    expect((await store.orphans(10)).map((j) => [j.taskId, j.orphanSince, j.orphanDue])).toEqual([
      ['task-1', restart, restart + 60_000],
      ['task-2', restart, restart + 60_000],
      ['task-3', restart, restart + 60_000],
    ]);
    expect(await store.nextDue()).toBe(restart + 60_000);
    expect(await store.dueOrphans(restart + 59_999, 10)).toEqual([]);
    // Host 2 reports: no longer an orphan, counts again; host 3 exits: finished, no orphan.
    expect(await store.applyUpdates('uuid-2', 'h2.example.test', 'n', [{ kind: 'output', stream: 'stdout', content: 'y' }], restart + 100, 1e6)).toBe('accepted');
    expect(await store.applyUpdates('uuid-3', 'h3.example.test', 'n', [{ kind: 'exit', code: 0 }], restart + 200, 1e6)).toBe('finished');
    expect(await store.inFlight(restart + 300, 0)).toBe(1);
    expect(await store.dueOrphans(restart + 60_000, 10)).toEqual(['task-1']);
    expect(await store.endOrphan('task-2', 'x', restart + 60_000)).toBe(false);
    expect(await store.endOrphan('task-1', 'no report since the restart', restart + 60_000)).toBe(true);
    expect(await store.endOrphan('task-1', 'again', restart + 60_001)).toBe(false);
    expect(await store.task('task-1')).toMatchObject({ state: 'finished', exitStatus: 'EXCEPTION', outputState: 'running', callbackState: 'pending', orphanDue: null });
    expect((await store.output('task-1')).map((o) => [o.output_type, o.output])).toEqual([
      ['stdout', 'x'],
      ['debug', 'no report since the restart'],
    ]);
    // The host may still run the script: it is asked to stop.
    expect((await store.dueCancels(10)).map((d) => d.taskId)).toEqual(['task-1']);
    expect(await store.orphans(10)).toEqual([]);
    expect(await store.dueOrphans(restart + 120_000, 10)).toEqual([]);
  });

  it('delivers a job once, to its own host, and takes updates only for that delivery', async () => {
    await store.insertLaunch(null, [job(1)], T0);
    expect(await store.deliverable('uuid-1', 'h2.example.test')).toBeUndefined();
    expect(await store.deliver('uuid-1', 'h2.example.test', 'n', T0)).toBeUndefined();
    expect((await store.deliver('uuid-1', 'h1.example.test', 'n1', T0))!.script).toBe('echo hi');
    expect(await store.deliver('uuid-1', 'h1.example.test', 'n1', T0)).toBeUndefined();
    expect(await store.applyUpdates('uuid-1', 'h1.example.test', 'n2', [{ kind: 'output', stream: 'stdout', content: 'x' }], T0, 1e6)).toBe('unknown');
    expect(await store.applyUpdates('uuid-1', 'h2.example.test', 'n1', [], T0, 1e6)).toBe('unknown');
    const sameSecond = Date.parse('2026-01-05T13:56:35Z') * 1000;
    expect(
      await store.applyUpdates(
        'uuid-1',
        'h1.example.test',
        'n1',
        [
          { kind: 'output', stream: 'stdout', content: 'a', atUs: sameSecond },
          { kind: 'output', stream: 'stderr', content: 'b', atUs: sameSecond },
        ],
        T0,
        1e6,
      ),
    ).toBe('accepted');
    expect((await store.task('task-1'))!.state).toBe('running');
    expect(await store.applyUpdates('uuid-1', 'h1.example.test', 'n1', [{ kind: 'output', stream: 'stdout', content: 'c', atUs: sameSecond }, { kind: 'exit', code: 4 }], T0, 1e6)).toBe(
      'finished',
    );
    const out = await store.output('task-1');
    expect(out.map((o) => o.output)).toEqual(['a', 'b', 'c']);
    expect(out[1]!.timestamp).toBeGreaterThan(out[0]!.timestamp);
    expect(out[2]!.timestamp).toBeGreaterThan(out[1]!.timestamp);
    const done = (await store.task('task-1'))!;
    expect(done).toMatchObject({ state: 'finished', outputState: 'running', exitStatus: 4, script: '', callbackState: 'pending' });
    // Received without a time: after the last output, never before it.
    expect(done.exitAt!).toBeGreaterThan(out[2]!.timestamp);
    expect(await store.applyUpdates('uuid-1', 'h1.example.test', 'n1', [], T0, 1e6)).toBe('unknown');
  });

  it('keeps at most max output bytes and says that it dropped the rest', async () => {
    await store.insertLaunch(null, [job(1)], T0);
    await store.deliver('uuid-1', 'h1.example.test', '', T0);
    const out = (content: string) => ({ kind: 'output' as const, stream: 'stdout', content });
    await store.applyUpdates('uuid-1', 'h1.example.test', '', [out('12345'), out('67890'), out('x')], T0, 8);
    await store.applyUpdates('uuid-1', 'h1.example.test', '', [out('more'), { kind: 'exit', code: 0 }], T0, 8);
    expect((await store.output('task-1')).map((o) => [o.output_type, o.output])).toEqual([
      ['stdout', '12345'],
      ['debug', 'Output truncated: this job produced more than 8 bytes of output; the rest was dropped'],
    ]);
    expect((await store.task('task-1'))!.exitStatus).toBe(0);
  });

  it('finishes only from the states asked for; a stop queues the cancel and sets the kill deadline', async () => {
    await store.insertLaunch(null, [job(1), job(2)], T0);
    expect(await store.finish('task-1', 'EXCEPTION', ['gone'], T0, ['delivered', 'running'])).toBe(false);
    expect(await store.requestStop('task-1', 'stop', T0 + 1000, T0)).toBe(false);
    await store.deliver('uuid-1', 'h1.example.test', '', T0);
    expect(await store.requestStop('task-1', 'stop it', T0 + 1000, T0)).toBe(true);
    expect(await store.requestStop('task-1', 'again', T0 + 1000, T0)).toBe(false);
    expect((await store.task('task-1'))!.stopping).toBe(true);
    expect((await store.dueCancels(10)).map((c) => c.taskId)).toEqual(['task-1']);
    await store.cancelsPublished(['task-1']);
    expect(await store.dueCancels(10)).toEqual([]);
    expect(await store.dueKills(T0 + 999, 10)).toEqual([]);
    expect(await store.dueKills(T0 + 1000, 10)).toEqual(['task-1']);
    expect(await store.finish('task-1', 'EXCEPTION', ['no exit'], T0 + 1000, ['delivered', 'running'])).toBe(true);
    expect((await store.output('task-1')).map((o) => o.output)).toEqual(['stop it', 'no exit']);
    expect(await store.dueKills(T0 + 5000, 10)).toEqual([]);
    expect(await store.duePickups(T0 + 60_000, 10)).toEqual(['task-2']);
    expect(await store.finish('task-2', 'EXCEPTION', ['late'], T0, ['ready_for_pickup', 'notified'])).toBe(true);
    expect(await store.task('task-2')).toMatchObject({ outputState: 'ready_for_pickup', exitStatus: 'EXCEPTION' });
    expect(await store.duePickups(T0 + 60_000, 10)).toEqual([]);
  });

  it('counts failed finished jobs (nonzero exit or EXCEPTION) and those finished since a time', async () => {
    await store.insertLaunch(null, [job(1), job(2), job(3), job(4)], T0);
    expect(await store.finishedCounts(T0)).toEqual({ failed: 0, recent: 0 });
    await store.finish('task-1', 0, [], T0);
    await store.finish('task-2', 2, [], T0 + 30_000);
    await store.finish('task-3', 'EXCEPTION', ['gone'], T0 + 60_000);
    expect(await store.finishedCounts(T0 + 30_000)).toEqual({ failed: 2, recent: 2 });
    expect(await store.finishedCounts(T0 + 60_001)).toEqual({ failed: 2, recent: 0 });
    expect(await store.countByState()).toEqual({ ready_for_pickup: 1, finished: 3 });
  });

  it('owes a callback until it is acknowledged, with leases and retries', async () => {
    await store.insertLaunch(null, [job(1), job(2, { callback: null })], T0);
    await store.finish('task-1', 0, [], T0);
    await store.finish('task-2', 0, [], T0);
    expect((await store.task('task-2'))!.callbackState).toBe('none');
    expect(await store.dueCallbacks(T0, 10)).toEqual([{ taskId: 'task-1', callback: { task_id: 'ft-1', step_id: 3 }, attempts: 0 }]);
    expect(await store.leaseCallbacks(['task-1'], T0, T0 + 35_000)).toEqual(['task-1']);
    expect(await store.dueCallbacks(T0 + 1000, 10)).toEqual([]);
    // Held by a POST in flight: nobody else takes it.
    expect(await store.leaseCallbacks(['task-1'], T0 + 1000, T0 + 40_000)).toEqual([]);
    // A restart: the lease belonged to a process that is gone, the result is owed now.
    expect(await store.releaseCallbacks(T0 + 500)).toBe(1);
    expect((await store.dueCallbacks(T0 + 500, 10)).map((d) => d.taskId)).toEqual(['task-1']);
    expect(await store.leaseCallbacks(['task-1'], T0 + 500, T0 + 35_000)).toEqual(['task-1']);
    await store.callbacksFailed([{ taskId: 'task-1', retryAt: T0 + 2000 }], 'Foreman answered 500', T0 + 1000);
    expect(await store.task('task-1')).toMatchObject({ callbackAttempts: 1, callbackError: 'Foreman answered 500' });
    expect(await store.nextDue()).toBe(T0 + 2000);
    expect((await store.dueCallbacks(T0 + 2000, 10))[0]!.attempts).toBe(1);
    await store.callbacksDelivered(['task-1'], T0 + 2000);
    expect(await store.task('task-1')).toMatchObject({ callbackState: 'done', callbackError: null, callbackAttempts: 1 });
    expect(await store.nextDue()).toBeUndefined();
  });

  it('forgets finished jobs after retention only once Foreman has them, then their empty parent', async () => {
    await store.insertLaunch({ id: 'parent-1', operation: 'ssh' }, [job(1), job(2)], T0);
    await store.finish('task-1', 0, ['x'], T0);
    await store.finish('task-2', 0, [], T0);
    await store.callbacksDelivered(['task-1'], T0);
    expect(await store.prune(T0 + 1, 100)).toBe(1);
    expect(await store.task('task-1')).toBeUndefined();
    expect(await store.output('task-1')).toEqual([]);
    expect(await store.parent('parent-1')).toBeDefined();
    await store.callbacksDelivered(['task-2'], T0);
    expect(await store.prune(T0 + 1, 100)).toBe(1);
    expect(await store.parent('parent-1')).toBeUndefined();
  });

  it('keeps every character of scripts and output, NUL included', async () => {
    const script = 'printf "a\\0b"\n# \u0000 in a script\n';
    await store.insertLaunch(null, [job(1, { script })], T0);
    expect((await store.task('task-1'))!.script).toBe(script);
    expect((await store.deliver('uuid-1', 'h1.example.test', '', T0))!.script).toBe(script);
    const chunks = ['a\u0000b', '\u0000', 'é ✓ \u{1F600}\n', '\u0000\u0001\u001f\u007f'];
    const updates = chunks.map((content) => ({ kind: 'output' as const, stream: 'stdout', content }));
    expect(await store.applyUpdates('uuid-1', 'h1.example.test', '', updates.slice(0, 2), T0, 1e6)).toBe('accepted');
    expect(await store.applyUpdates('uuid-1', 'h1.example.test', '', [...updates.slice(2), { kind: 'exit', code: 0 }], T0, 1e6)).toBe('finished');
    expect((await store.output('task-1')).map((o) => o.output)).toEqual(chunks);
    // Counted in bytes as sent (UTF-8), NUL included.
    await store.insertLaunch(null, [job(2)], T0);
    await store.deliver('uuid-2', 'h2.example.test', '', T0);
    await store.applyUpdates('uuid-2', 'h2.example.test', '', [{ kind: 'output', stream: 'stdout', content: '\u0000'.repeat(4) }, { kind: 'output', stream: 'stdout', content: '\u0000' }], T0, 4);
    expect((await store.output('task-2')).map((o) => [o.output_type, o.output.length])).toEqual([
      ['stdout', 4],
      ['debug', expect.any(Number)],
    ]);
  });

  it('runs a group of many fetches and updates as if one after the other, however the driver batches them', async () => {
    await store.insertLaunch(null, [1, 2, 3, 4, 5].map((n) => job(n)), T0);
    const out = (content: string) => ({ kind: 'output' as const, stream: 'stdout', content });
    const first = await store.transact<unknown>(
      [
        (tx) => tx.deliver('uuid-1', 'h1.example.test', 'a', T0),
        // The same job fetched again in the same group: the first fetch won.
        (tx) => tx.deliver('uuid-1', 'h1.example.test', 'b', T0),
        (tx) => tx.deliver('uuid-2', 'h2.example.test', '', T0),
        async (tx) => {
          await tx.deliver('uuid-3', 'h3.example.test', '', T0);
          return tx.applyUpdates('uuid-3', 'h3.example.test', '', [out('three\n'), { kind: 'exit', code: 3 }], T0, 1e6);
        },
        (tx) => tx.applyUpdates('uuid-4', 'h4.example.test', '', [out('never fetched')], T0, 1e6),
        (tx) => tx.task('task-5'),
      ],
      true,
    );
    expect(first.map((r) => (r.ok ? r.value : r.error))).toEqual([
      expect.objectContaining({ taskId: 'task-1', delivery: 'a', state: 'delivered' }),
      undefined,
      expect.objectContaining({ taskId: 'task-2', state: 'delivered' }),
      'finished',
      'unknown',
      expect.objectContaining({ taskId: 'task-5', state: 'ready_for_pickup' }),
    ]);
    // Updates of one job in one group apply in the order asked; other jobs' alongside.
    const second = await store.transact<unknown>(
      [
        (tx) => tx.applyUpdates('uuid-1', 'h1.example.test', 'a', [out('one\n')], T0 + 1, 1e6),
        (tx) => tx.applyUpdates('uuid-1', 'h1.example.test', 'a', [out('two\n'), { kind: 'exit', code: 0 }], T0 + 2, 1e6),
        (tx) => tx.applyUpdates('uuid-1', 'h1.example.test', 'a', [out('late\n')], T0 + 3, 1e6),
        (tx) => tx.applyUpdates('uuid-2', 'h2.example.test', '', [out('x\n')], T0 + 1, 1e6),
        (tx) => tx.applyUpdates('uuid-1', 'h1.example.test', 'b', [out('wrong delivery\n')], T0 + 1, 1e6),
      ],
      true,
    );
    expect(second.map((r) => r.ok && r.value)).toEqual(['accepted', 'finished', 'unknown', 'accepted', 'unknown']);
    expect((await store.output('task-1')).map((o) => o.output)).toEqual(['one\n', 'two\n']);
    expect(await store.task('task-1')).toMatchObject({ state: 'finished', exitStatus: 0, callbackState: 'pending' });
    expect(await store.task('task-2')).toMatchObject({ state: 'running' });
    expect(await store.task('task-3')).toMatchObject({ state: 'finished', exitStatus: 3 });
    expect((await store.jobsWithOutput(['task-3', 'task-2', 'nothing'])).get('task-3')).toMatchObject({ job: { exitStatus: 3 }, output: [{ output: 'three\n' }] });
    expect([...(await store.jobsWithOutput(['task-3', 'task-2', 'nothing'])).keys()].sort()).toEqual(['task-2', 'task-3']);
  });

  it('commits a group of changes together, undoing only the one that failed', async () => {
    await store.insertLaunch(null, [job(1), job(2)], T0);
    const results = await store.transact<unknown>(
      [
        (tx) => tx.deliver('uuid-1', 'h1.example.test', '', T0),
        async (tx) => {
          await tx.deliver('uuid-2', 'h2.example.test', '', T0);
          throw new Error('boom');
        },
      ],
      true,
    );
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    expect((await store.task('task-1'))!.state).toBe('delivered');
    expect((await store.task('task-2'))!.state).toBe('ready_for_pickup');
    expect(await store.hostQueue('h2.example.test')).toEqual(['uuid-2']);
  });

  it('forgets all of a launch that was undone: its task ids and its hosts’ queues', async () => {
    const results = await store.transact<unknown>(
      [
        async (tx) => {
          await tx.insertLaunch(null, [job(3)], T0);
          throw new Error('boom');
        },
      ],
      true,
    );
    expect(results.map((r) => r.ok)).toEqual([false]);
    expect(await store.task('task-3')).toBeUndefined();
    expect(await store.hostQueue('h3.example.test')).toEqual([]);
    // A job uuid already taken fails the whole launch, the jobs before it included.
    await store.insertLaunch(null, [job(1)], T0);
    await expect(store.insertLaunch(null, [job(4), job(5, { jobUuid: 'uuid-1' })], T0)).rejects.toThrow();
    expect([await store.task('task-4'), await store.hostQueue('h4.example.test')]).toEqual([undefined, []]);
    expect(await store.insertLaunch(null, [job(3), job(4)], T0)).toEqual({ existing: [] });
    expect(await store.hostQueue('h4.example.test')).toEqual(['uuid-4']);
  });

  it('survives a reopen with everything scheduled where it was', async () => {
    await store.insertLaunch(null, [job(1, { execDue: T0 + 10_000 })], T0);
    await store.markRinging(['task-1'], T0, T0 + 5000, T0 + 45_000);
    store = await fixture.open();
    expect((await store.task('task-1'))!.state).toBe('notified');
    expect(await store.nextDue()).toBe(T0 + 10_000);
    expect(await store.dueExecTimeouts(T0 + 10_000, 10)).toEqual(['task-1']);
  });
});
