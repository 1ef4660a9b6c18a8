// Several instances on one PostgreSQL spool: a job launched through one is fetched, updated and
// cancelled through another; claims never hand one doorbell or one callback to two instances;
// a dead instance's callback lease runs out and a survivor takes the batch over; a launch on
// one instance is heard by the others.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import pg from 'pg';
import { PICKUP_STATES, type DueDeadline, type JobChanges, type NewJob } from '../../src/state/job-store.js';
import { SpoolListener, type SpoolEvent } from '../../src/state/postgresql/spool-events.js';
import { pgSpool } from './job-store-drivers.js';
import { newJob } from './new-job.js';

const T0 = 1_700_000_000_000;

function job(n: number, over: Partial<NewJob> = {}): NewJob {
  return newJob(n, { operation: 'single', pickupDue: T0 + 60_000, ...over });
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

  /** Heartbeat rows as instances.ts writes them: a live lease, or one that expired. */
  async function lease(id: string, live: boolean): Promise<void> {
    const c = new pg.Client({ connectionString: spool.url });
    await c.connect();
    try {
      await c.query(
        `INSERT INTO instances (id, runtime_url, started_at, heartbeat_at, lease_until) VALUES ($1, NULL, 0, 0, $2)
         ON CONFLICT (id) DO UPDATE SET lease_until = EXCLUDED.lease_until`,
        [id, live ? 9e15 : 0],
      );
    } finally {
      await c.end();
    }
  }

  it("takes over the callbacks a dead instance had leased or scheduled once its instance lease expired, never a live one's", async () => {
    const a = spool.open('a');
    const b = spool.open('b');
    await lease('a', true);
    await lease('b', true);
    await a.insertLaunch(null, [job(1), job(2), job(3)], T0);
    for (const id of ['task-1', 'task-2', 'task-3']) await a.finish(id, 0, [], T0);
    // task-1 in a POST of A's (lease far out), task-2 backing off after A's failed POST, task-3 B's.
    expect(await a.leaseCallbacks(['task-1', 'task-2'], T0, T0 + 600_000)).toEqual(['task-1', 'task-2']);
    await a.callbacksFailed([{ taskId: 'task-2', retryAt: T0 + 600_000 }], 'Foreman answered 500', T0);
    expect(await b.leaseCallbacks(['task-3'], T0, T0 + 600_000)).toEqual(['task-3']);
    // A and B live: an instance starting, or B looking now and then, leaves their leases alone.
    expect(await spool.open('starting').releaseCallbacks(T0 + 1000)).toBe(0);
    expect(await b.takeOver(T0 + 1000, 60_000)).toEqual({ orphaned: 0, callbacks: 0, doorbells: 0 });
    expect(await b.dueCallbacks(T0 + 1000, 10)).toEqual([]);
    // A's lease expires: its lease and its back-off are due now; B's own lease stays B's.
    await lease('a', false);
    expect(await b.takeOver(T0 + 1000, 60_000)).toEqual({ orphaned: 0, callbacks: 2, doorbells: 0 });
    expect((await b.dueCallbacks(T0 + 1000, 10)).map((d) => d.taskId).sort()).toEqual(['task-1', 'task-2']);
    expect(await b.leaseCallbacks(['task-1', 'task-2'], T0 + 1000, T0 + 40_000)).toEqual(['task-1', 'task-2']);
    await b.callbacksDelivered(['task-1', 'task-2'], T0 + 2000);
    expect(await b.task('task-1')).toMatchObject({ callbackState: 'done' });
    // Once taken, nothing is taken twice.
    expect(await spool.open('c').takeOver(T0 + 3000, 60_000)).toEqual({ orphaned: 0, callbacks: 0, doorbells: 0 });

    // An instance starting frees the dead ones' leases too, and its own (same id: a restart).
    await b.insertLaunch(null, [job(4), job(5)], T0);
    await b.finish('task-4', 0, [], T0);
    await b.finish('task-5', 0, [], T0);
    expect(await a.leaseCallbacks(['task-4'], T0, T0 + 600_000)).toEqual(['task-4']);
    const c = spool.open('c');
    await lease('c', true);
    expect(await c.leaseCallbacks(['task-5'], T0, T0 + 600_000)).toEqual(['task-5']);
    // c restarts (same id) while a is dead and b holds task-3: a's and c's own come back, b's does not.
    expect(await spool.open('c').releaseCallbacks(T0 + 4000)).toBe(2);
    expect((await b.dueCallbacks(T0 + 4000, 10)).map((d) => d.taskId).sort()).toEqual(['task-4', 'task-5']);
  });

  it('orphans only the running jobs of the restarting instance and of dead ones, and a dead one’s doorbell claims are rung again', async () => {
    const a = spool.open('a');
    const b = spool.open('b');
    await lease('a', true);
    await lease('b', true);
    await lease('gone', false);
    await a.insertLaunch(null, [1, 2, 3, 4, 5].map((n) => job(n)), T0);
    await a.deliver('uuid-1', 'h1.example.test', '', T0);
    await b.deliver('uuid-2', 'h2.example.test', '', T0);
    await spool.open('gone').deliver('uuid-3', 'h3.example.test', '', T0);
    // Fetched through A, last heard of through B: B's.
    await a.deliver('uuid-4', 'h4.example.test', '', T0);
    expect(await b.applyUpdates('uuid-4', 'h4.example.test', '', [{ kind: 'output', stream: 'stdout', content: 'x' }], T0, 1e6)).toBe('accepted');
    // A restarts under a new id while the old process's lease still runs: only the dead one's job is orphaned.
    const a2 = spool.open('a2');
    await lease('a2', true);
    expect(await a2.markOrphans(T0 + 1000, 60_000)).toBe(1);
    expect((await a2.orphans(10)).map((j) => j.taskId)).toEqual(['task-3']);
    expect(await a2.takeOver(T0 + 1000, 60_000)).toEqual({ orphaned: 0, callbacks: 0, doorbells: 0 });
    // The old process's lease expires: its job is taken over; B's never.
    await lease('a', false);
    expect(await a2.takeOver(T0 + 11_000, 60_000)).toEqual({ orphaned: 1, callbacks: 0, doorbells: 0 });
    expect((await a2.orphans(10)).map((j) => [j.taskId, j.orphanSince, j.orphanDue])).toEqual([
      ['task-3', T0 + 1000, T0 + 61_000],
      ['task-1', T0 + 11_000, T0 + 71_000],
    ]);
    // A report through anyone ends the orphan, and the job is that instance's.
    expect(await a2.applyUpdates('uuid-1', 'h1.example.test', '', [{ kind: 'output', stream: 'stdout', content: 'y' }], T0 + 12_000, 1e6)).toBe('accepted');
    expect((await a2.orphans(10)).map((j) => j.taskId)).toEqual(['task-3']);

    // A doorbell claimed by A just before it died (not confirmed): rung again at once, not after the unconfirmed wait.
    const a3 = spool.open('a3');
    await lease('a3', true);
    expect(await a3.markRinging(['task-5'], T0, T0 + 5000, T0 + 45_000)).toEqual(['task-5']);
    expect(await b.takeOver(T0 + 1000, 60_000)).toMatchObject({ doorbells: 0 });
    await lease('a3', false);
    expect(await b.takeOver(T0 + 1000, 60_000)).toMatchObject({ doorbells: 1 });
    expect((await b.dueDoorbells(T0 + 1000, 10)).map((d) => d.taskId)).toEqual(['task-5']);
  });

  it('keeps the rate limit over the whole cluster: instances claiming doorbells at the same moment never exceed it together', async () => {
    const instances = ['a', 'b', 'c', 'd'].map((id) => spool.open(id));
    await instances[0]!.insertLaunch(null, Array.from({ length: 300 }, (_, i) => job(i)), T0);
    const claim = (s: (typeof instances)[number], now: number) =>
      s.claimDoorbells({ now, limit: 1000, rateLimit: 50, silentBefore: 0, slotUntil: now + 5000, retryAt: now + 45_000 });
    // Round after round, all at once: each round's claims together fill the room that is left, no more.
    let claimed = 0;
    for (const [round, now] of [T0, T0 + 1, T0 + 2].entries()) {
      const got = (await Promise.all(instances.map((s) => claim(s, now)))).map((r) => r.length);
      claimed += got.reduce((a, n) => a + n, 0);
      expect([round, claimed]).toEqual([round, 50]);
    }
    expect(await instances[1]!.inFlight(T0 + 2, 0)).toBe(50);
    // Slots run out: the next 50 go, to whichever instances ask.
    const later = (await Promise.all(instances.map((s) => claim(s, T0 + 6000)))).flat();
    expect(later).toHaveLength(50);
    expect(new Set(later.map((d) => d.taskId)).size).toBe(50);
  });

  it('gives each due deadline to one instance; a peer skips the jobs another holds instead of waiting', async () => {
    const a = spool.open('a');
    const b = spool.open('b');
    const jobs = Array.from({ length: 200 }, (_, i) => job(i, { pickupDue: T0 + 1000 }));
    await a.insertLaunch(null, jobs, T0);
    const end = () => (tx: JobChanges, d: DueDeadline) => tx.finish(d.taskId, 'EXCEPTION', [`not picked up (${d.kinds.join(',')})`], T0 + 1000, PICKUP_STATES);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let claimedByA: string[] = [];
    // A claims 10 and holds them (its transaction open) while B runs.
    const aRun = a.transactPlanned(async (tx) => {
      const due = await tx.claimDeadlines(T0 + 1000, 10);
      claimedByA = due.map((d) => d.taskId);
      return due.map((d, i) => async (t: JobChanges) => {
        if (i === 0) await held;
        return end()(t, d);
      });
    }, false);
    while (claimedByA.length === 0) await new Promise((r) => setTimeout(r, 10));
    const bResults = await b.transactPlanned(async (tx) => (await tx.claimDeadlines(T0 + 1000, 1000)).map((d) => (t: JobChanges) => end()(t, d)), false);
    // B was not held up by A's rows: it ended every other job, none of A's.
    expect(bResults).toHaveLength(190);
    expect(bResults.every((r) => r.ok && r.value === true)).toBe(true);
    release();
    const aResults = await aRun;
    expect(aResults.map((r) => r.ok && r.value)).toEqual(Array(10).fill(true));
    expect(await b.countJobs('finished')).toBe(200);
    // Nothing is due twice.
    expect(await b.transactPlanned(async (tx) => (await tx.claimDeadlines(T0 + 2000, 1000)).map(() => async () => true), false)).toEqual([]);
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
