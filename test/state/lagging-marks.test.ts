// Lagging marks and claims as every driver keeps them: a mark is cleared only with an empty
// backlog, a claim is held by one holder at a time; on PostgreSQL another instance hears of a
// change and a claim goes with its holder's connection.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { CLAIM_CLASS } from '../../src/state/postgresql/advisory-locks.js';
import type { PgStateStore } from '../../src/state/postgresql/store.js';
import { formRequest, STORE_DRIVERS, type StoreFixture } from './temp-store.js';

const put = formRequest('/tftp/PXELinux/00:11:22:33:44:55', 'pxeconfig=x');

describe.each(STORE_DRIVERS)('lagging marks and claims ($name)', (driver) => {
  let fx: StoreFixture;
  beforeEach(async () => {
    fx = await driver.fixture();
  });
  afterEach(() => fx.cleanup());

  it('keeps a mark once, with when it was set, until its backlog is empty', async () => {
    const store = await fx.open();
    expect(await store.laggingBackends()).toEqual([]);
    await store.markLagging('tftp', 'b');
    fx.clock.advance(10);
    await store.markLagging('tftp', 'b');
    await store.markLagging('dhcp', 'a');
    expect(await store.laggingBackends()).toEqual([
      { feature: 'dhcp', backend: 'a', since: fx.clock.now() },
      { feature: 'tftp', backend: 'b', since: fx.clock.now() - 10 },
    ]);

    const version = await store.putDesired({ feature: 'tftp', key: 'pxelinux/00:11:22:33:44:55', op: 'put', request: put });
    expect(await store.clearLagging('tftp', 'b')).toBe(false);
    expect((await store.laggingBackends()).map((m) => m.backend)).toEqual(['a', 'b']);
    // Another backend's applied mark is not this one's.
    await store.markApplied('tftp', 'pxelinux/00:11:22:33:44:55', 'a', version);
    expect(await store.clearLagging('tftp', 'b')).toBe(false);
    await store.markApplied('tftp', 'pxelinux/00:11:22:33:44:55', 'b', version);
    expect(await store.clearLagging('tftp', 'b')).toBe(true);
    expect(await store.laggingBackends()).toEqual([{ feature: 'dhcp', backend: 'a', since: fx.clock.now() }]);
    // Clearing what is not marked says it is clear.
    expect(await store.clearLagging('tftp', 'b')).toBe(true);
  });

  it('marks survive a reopen (a restart, or another instance of the cluster)', async () => {
    const first = await fx.open();
    await first.markLagging('tftp', 'c');
    const second = await fx.open();
    expect((await second.laggingBackends()).map((m) => [m.feature, m.backend])).toEqual([['tftp', 'c']]);
  });

  it('a claim has one holder at a time; released, it can be held again', async () => {
    const store = await fx.open();
    const release = await store.claims.tryHold('catch-up tftp b');
    expect(release).toBeDefined();
    expect(await store.claims.tryHold('catch-up tftp b')).toBeUndefined();
    const other = await store.claims.tryHold('catch-up tftp c');
    expect(other).toBeDefined();
    await release!();
    await release!();
    const again = await store.claims.tryHold('catch-up tftp b');
    expect(again).toBeDefined();
    expect(await store.claims.tryHold('catch-up tftp b')).toBeUndefined();
    await again!();
    await other!();
  });
});

describe('lagging marks across instances (postgresql)', () => {
  const pgDriver = STORE_DRIVERS.find((d) => d.name === 'postgresql')!;
  let fx: StoreFixture;
  beforeEach(async () => {
    fx = await pgDriver.fixture();
  });
  afterEach(() => fx.cleanup());

  it('the other instance hears of a mark and of its clearing, not of a mark that was there already', async () => {
    const a = await fx.open();
    const b = await fx.open();
    const heard: (string | undefined)[] = [];
    const watch = b.watchLagging!(
      (change) => heard.push(change),
      () => undefined,
    );
    /** Waits until `n` calls were heard. */
    const hear = async (n: number): Promise<void> => {
      for (let i = 0; i < 200 && heard.length < n; i++) await new Promise((ok) => setTimeout(ok, 25));
      expect(heard.length).toBeGreaterThanOrEqual(n);
    };
    try {
      // The first call is the one after connecting: whatever changed before is to be read again.
      await hear(1);
      await a.markLagging('tftp', 'b');
      await hear(2);
      expect((await b.laggingBackends()).map((m) => m.backend)).toEqual(['b']);
      await a.clearLagging('tftp', 'b');
      await hear(3);
      expect(await b.laggingBackends()).toEqual([]);

      // A mark that is there already and a clear refused by a backlog change nothing: not heard.
      await a.markLagging('tftp', 'c');
      await a.putDesired({ feature: 'tftp', key: 'k', op: 'put', request: put });
      await a.markLagging('tftp', 'c');
      expect(await a.clearLagging('tftp', 'c')).toBe(false);
      await a.markLagging('tftp', 'd');
      // Notifications arrive in commit order: anything the no-ops caused would come before 'tftp d'.
      await hear(5);
      expect(heard).toEqual([undefined, 'tftp b', 'tftp b', 'tftp c', 'tftp d']);
    } finally {
      await watch.stop();
    }
  });

  it('a claim goes with the connection of the instance that held it', async () => {
    const a = await fx.open();
    const b = (await fx.open()) as PgStateStore;
    const held = await a.claims.tryHold('catch-up tftp b');
    expect(held).toBeDefined();
    expect(await b.claims.tryHold('catch-up tftp b')).toBeUndefined();
    // The holder's connection dies (its process was killed, its network cut).
    const killed = await b.pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objsubid = 2 AND granted`,
      [CLAIM_CLASS],
    );
    expect(killed.rowCount).toBe(1);
    let release: (() => Promise<void>) | undefined;
    for (let i = 0; i < 100 && !release; i++) {
      release = await b.claims.tryHold('catch-up tftp b');
      if (!release) await new Promise((ok) => setTimeout(ok, 50));
    }
    expect(release).toBeDefined();
    await release!();
    // The dead holder's release gives its broken connection back without failing.
    await held!();
  });
});
