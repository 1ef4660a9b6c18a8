// Per-key write order across instances: two stores on one PostgreSQL database stand for two
// instances; a key held by one makes the other wait, other keys pass, a deadline ends the wait,
// and a connection that dies (the instance was killed) frees what it held. Claims: one holder
// per name across instances, many at once on one connection, one query at a time on it.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import pg from 'pg';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { freshDatabase } from '../support/postgres.js';

describe('advisory key locks (postgresql)', () => {
  let a: PgStateStore;
  let b: PgStateStore;
  beforeEach(async () => {
    const url = await freshDatabase();
    a = await PgStateStore.open({ url, poolSize: 3 });
    b = await PgStateStore.open({ url, poolSize: 3 });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('writes holding every connection of the store pool for their key locks can still record their sagas', async () => {
    // As many writes as the store has connections, each holding its key lock while it records
    // its saga: the locks live on a pool of their own, so the records never wait for a lock holder.
    const request = { method: 'POST' as const, path: '/tftp/x', query: '', body: '', headers: {} };
    const writes = [1, 2, 3].map(async (n) => {
      const release = await a.keyLocks.hold([`tftp/pxelinux/00:0${n}`]);
      try {
        return await a.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['x'] });
      } finally {
        await release();
      }
    });
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((r) => (timer = setTimeout(() => r('stalled'), 10_000)));
    const ids = await Promise.race([Promise.all(writes), stalled]);
    clearTimeout(timer);
    expect(ids).not.toBe('stalled');
    expect(new Set(ids as number[]).size).toBe(3);
  });

  it('a key held by one instance makes the other wait until it is released; other keys pass', async () => {
    const events: string[] = [];
    const releaseA = await a.keyLocks.hold(['dhcp/192.0.2.0/52:54:00:aa:00:01', 'tftp/pxelinux/00:11']);
    events.push('a holds');
    const waiting = b.keyLocks.hold(['tftp/pxelinux/00:11']).then((release) => {
      events.push('b holds');
      return release;
    });
    const other = await b.keyLocks.hold(['tftp/pxelinux/00:22']);
    events.push('b holds another key');
    await other();
    // b is still waiting: a has not released (bounded look: a few rounds of b's retry loop).
    for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).toEqual(['a holds', 'b holds another key']);
    events.push('a releases');
    await releaseA();
    const releaseB = await waiting;
    await releaseB();
    expect(events).toEqual(['a holds', 'b holds another key', 'a releases', 'b holds']);
  });

  it('a deadline ends the wait without taking the key', async () => {
    const releaseA = await a.keyLocks.hold(['k']);
    const deadline = new AbortController();
    const waiting = b.keyLocks.hold(['k'], deadline.signal);
    deadline.abort(new Error('request deadline'));
    await expect(waiting).rejects.toThrow('request deadline');
    await releaseA();
    await (await b.keyLocks.hold(['k']))();
  });

  it('a connection that dies frees its keys: nothing waits for an instance that is gone', async () => {
    const releaseA = await a.keyLocks.hold(['k']);
    const waiting = b.keyLocks.hold(['k']);
    // What a kill -9 of the instance does to its sessions.
    await b.pool.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()");
    await (await waiting)();
    // The dead connection is dropped from the lock pool, not reused.
    await releaseA();
    expect(a.keyLocks.pool.totalCount).toBe(0);
  });

  it('claims taken at once: one holder per name across instances, one query at a time on the claims connection', async () => {
    // Queries each pg connection has in flight, highest seen: pg queues a second one itself,
    // but that is deprecated (gone in pg 9), so the claims must not ask it to.
    const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    const inFlight = new WeakMap<object, number>();
    let most = 0;
    proto.query = function (this: object, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (!(result instanceof Promise)) return result;
      const n = (inFlight.get(this) ?? 0) + 1;
      inFlight.set(this, n);
      most = Math.max(most, n);
      return result.finally(() => inFlight.set(this, (inFlight.get(this) ?? 1) - 1));
    };
    try {
      const names = Array.from({ length: 20 }, (_, i) => `catch-up/tftp/sim-${i}`);
      const [byA, byB] = await Promise.all([Promise.all(names.map((n) => a.claims.tryHold(n))), Promise.all(names.map((n) => b.claims.tryHold(n)))]);
      names.forEach((n, i) => expect([n, [byA[i], byB[i]].filter(Boolean).length]).toEqual([n, 1]));
      // Within one instance too: a name it holds is not given out again.
      expect(await Promise.all(names.map((n) => a.claims.tryHold(n)))).toEqual(names.map(() => undefined));
      await Promise.all([...byA, ...byB].map((release) => release?.()));
      const again = await Promise.all(names.map((n) => b.claims.tryHold(n)));
      expect(again.every(Boolean)).toBe(true);
      await Promise.all(again.map((release) => release!()));
    } finally {
      proto.query = original;
    }
    expect(most).toBe(1);
  });
});
