// Several instances on one PostgreSQL spool: a job launched through one is fetched, updated and
// cancelled through another; claims never hand one doorbell or one callback to two instances;
// a dead instance's callback lease runs out and a survivor takes the batch over; a launch on
// one instance is heard by the others.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import type { NewJob } from '../../src/state/job-store.js';
import { SpoolListener, type SpoolEvent } from '../../src/state/postgresql/spool-events.js';
import { pgSpool } from './job-store-drivers.js';

const T0 = 1_700_000_000_000;

function job(n: number, over: Partial<NewJob> = {}): NewJob {
  return {
    taskId: `task-${n}`,
    parentId: null,
    jobUuid: `uuid-${n}`,
    host: `h${n}.example.test`,
    operation: 'single',
    callback: { task_id: `ft-${n}`, step_id: 3 },
    input: {},
    script: 'echo hi',
    effectiveUser: null,
    baseUrl: 'https://proxy.example.test',
    pickupDue: T0 + 60_000,
    execDue: null,
    ...over,
  };
}

describe('one spool, several instances (PostgreSQL)', () => {
  let spool: Awaited<ReturnType<typeof pgSpool>>;
  beforeEach(async () => {
    spool = await pgSpool();
  });
  afterEach(async () => {
    await spool.cleanup();
  });

  it('runs a job launched through A to the end through B, and cancels through either', async () => {
    const a = spool.open('a');
    const b = spool.open('b');
    await a.insertLaunch(null, [job(1), job(2)], T0);
    expect(await b.hostQueue('h1.example.test')).toEqual(['uuid-1']);
    expect((await b.transact([(tx) => tx.deliver('uuid-1', 'h1.example.test', 'n1', T0)], true))[0]).toMatchObject({ ok: true });
    // Delivered once, whoever asks.
    expect(await a.deliver('uuid-1', 'h1.example.test', 'n1', T0)).toBeUndefined();
    expect(await b.applyUpdates('uuid-1', 'h1.example.test', 'n1', [{ kind: 'output', stream: 'stdout', content: 'x' }, { kind: 'exit', code: 0 }], T0, 1e6)).toBe('finished');
    expect(await a.task('task-1')).toMatchObject({ state: 'finished', exitStatus: 0, callbackState: 'pending' });
    expect((await a.output('task-1')).map((o) => o.output)).toEqual(['x']);
    expect(await b.finish('task-2', 'EXCEPTION', ['cancelled'], T0, ['ready_for_pickup', 'notified'])).toBe(true);
    expect(await a.finish('task-2', 'EXCEPTION', ['cancelled'], T0, ['ready_for_pickup', 'notified'])).toBe(false);
  });

  it('gives each due doorbell and each owed callback to exactly one instance, however they race', async () => {
    const a = spool.open('a');
    const b = spool.open('b');
    const jobs = Array.from({ length: 200 }, (_, i) => job(i));
    await a.insertLaunch(null, jobs, T0);
    const ids = jobs.map((j) => j.taskId);
    // Both read the same due list, both claim it at once, in opposite orders.
    const [ra, rb] = await Promise.all([a.markRinging(ids, T0, T0 + 5000, T0 + 45_000), b.markRinging([...ids].reverse(), T0, T0 + 5000, T0 + 45_000)]);
    expect(ra.length + rb.length).toBe(200);
    expect(new Set([...ra, ...rb]).size).toBe(200);
    for (const id of ids) await a.finish(id, 0, [], T0);
    const [ca, cb] = await Promise.all([a.leaseCallbacks(ids, T0, T0 + 30_000), b.leaseCallbacks(ids, T0, T0 + 30_000)]);
    expect(ca.length + cb.length).toBe(200);
    expect(new Set([...ca, ...cb]).size).toBe(200);
  });

  it('lets a survivor take over the callbacks a dead instance had leased once the lease ran out, and no sooner', async () => {
    const a = spool.open('a');
    const b = spool.open('b');
    await a.insertLaunch(null, [job(1)], T0);
    await a.finish('task-1', 0, [], T0);
    expect(await a.leaseCallbacks(['task-1'], T0, T0 + 35_000)).toEqual(['task-1']);
    await a.close(); // A is gone mid-POST.
    // B starting up frees only its own leases: A's may still be in flight.
    expect(await b.releaseCallbacks(T0 + 1000)).toBe(0);
    expect(await b.dueCallbacks(T0 + 34_999, 10)).toEqual([]);
    expect((await b.dueCallbacks(T0 + 35_000, 10)).map((d) => d.taskId)).toEqual(['task-1']);
    expect(await b.leaseCallbacks(['task-1'], T0 + 35_000, T0 + 70_000)).toEqual(['task-1']);
    await b.callbacksDelivered(['task-1'], T0 + 36_000);
    expect(await b.task('task-1')).toMatchObject({ callbackState: 'done' });
    // A restarted under its own id frees what it held itself.
    await b.insertLaunch(null, [job(2)], T0);
    await b.finish('task-2', 0, [], T0);
    const a2 = spool.open('a');
    expect(await a2.leaseCallbacks(['task-2'], T0, T0 + 35_000)).toEqual(['task-2']);
    expect(await spool.open('a').releaseCallbacks(T0 + 1)).toBe(1);
  });

  it('tells the other instances about a launch, a stop and a finished job', async () => {
    const heard: SpoolEvent[] = [];
    const listener = new SpoolListener({ connectionString: spool.url }, (e) => heard.push(e));
    listener.start();
    try {
      // On (re)connecting it reports every kind once, for what it may have missed.
      await waitFor(() => heard.length >= 3);
      heard.length = 0;
      const a = spool.open('a');
      await a.insertLaunch(null, [job(1)], T0);
      await waitFor(() => heard.includes('launched'));
      await a.deliver('uuid-1', 'h1.example.test', '', T0);
      await a.requestStop('task-1', 'stop', T0 + 1000, T0);
      await waitFor(() => heard.includes('stopping'));
      await a.transact([(tx) => tx.applyUpdates('uuid-1', 'h1.example.test', '', [{ kind: 'exit', code: 1 }], T0, 1e6)], true);
      await waitFor(() => heard.includes('finished'));
      // A group that rolled back announces nothing.
      heard.length = 0;
      await a.insertLaunch(null, [job(3)], T0);
      await waitFor(() => heard.includes('launched'));
      heard.length = 0;
      const failed = await a.transact(
        [
          async (tx) => {
            await tx.finish('task-3', 0, [], T0);
            throw new Error('undone');
          },
        ],
        true,
      );
      expect(failed[0]!.ok).toBe(false);
      expect(await a.task('task-3')).toMatchObject({ state: 'ready_for_pickup' });
    } finally {
      await listener.stop();
    }
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
