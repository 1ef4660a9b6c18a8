// Saga ownership on a shared database: each saga carries the instance that began it; a survivor
// claims only the unfinished sagas of instances whose lease has expired (or of no instance),
// and of two instances claiming at once each saga goes to exactly one.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { InstanceRegistry } from '../../src/state/postgresql/instances.js';
import { openSqliteStateStore } from '../../src/state/sqlite/open.js';
import type { StoredRequest } from '../../src/state/store.js';
import { freshDatabase } from '../support/postgres.js';
import { tempDir } from './temp-store.js';

const request: StoredRequest = { method: 'POST', path: '/tftp/pxelinux/00:11:22:33:44:55', query: '', body: 'pxeconfig=x', headers: {} };
const begin = (s: { beginSaga: PgStateStore['beginSaga'] }) => s.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['a', 'b'] });

describe('saga owners (postgresql)', () => {
  const ids = ['dead', 'alive', 'c1', 'c2'] as const;
  let stores: Record<(typeof ids)[number], PgStateStore>;
  let registries: Record<(typeof ids)[number], InstanceRegistry>;

  beforeEach(async () => {
    const url = await freshDatabase();
    stores = {} as typeof stores;
    registries = {} as typeof registries;
    for (const id of ids) {
      stores[id] = await PgStateStore.open({ url, poolSize: 3 }, { instanceId: id });
      // A long lease: in this test only leave() ends one.
      registries[id] = new InstanceRegistry(stores[id].pool, { id, heartbeatMs: 60_000, leaseMs: 600_000 });
      await registries[id].join(null);
    }
  });
  afterEach(async () => {
    for (const id of ids) {
      await registries[id].leave();
      await stores[id].close();
    }
  });

  async function owners(): Promise<Map<number, string | null>> {
    const { rows } = await stores.alive.pool.query<{ id: number; owner: string | null }>('SELECT id, owner FROM sagas');
    return new Map(rows.map((r) => [Number(r.id), r.owner]));
  }

  it('claims only the sagas of gone instances, each for exactly one of two racing claimers', async () => {
    const deadOpen: number[] = [];
    for (let i = 0; i < 200; i++) deadOpen.push(await begin(stores.dead));
    const deadCompensating = await begin(stores.dead);
    await stores.dead.setSagaStatus(deadCompensating, 'compensating');
    const deadCompleted = await begin(stores.dead);
    await stores.dead.setSagaStatus(deadCompleted, 'completed', 200);
    const aliveOpen = [await begin(stores.alive), await begin(stores.alive)];
    const c1Open = await begin(stores.c1);
    // A saga of no instance (written before owners existed) and one of an instance that never had a row.
    const ownerless = await begin(stores.alive);
    const rowless = await begin(stores.alive);
    await stores.alive.pool.query('UPDATE sagas SET owner = NULL WHERE id = $1', [ownerless]);
    await stores.alive.pool.query("UPDATE sagas SET owner = 'local' WHERE id = $1", [rowless]);
    expect((await owners()).get(aliveOpen[0]!)).toBe('alive');

    // Nobody is gone yet: only the ownerless and row-less sagas are up for grabs.
    const early = await stores.c1.claimOrphanedSagas();
    expect(early.map((s) => s.id)).toEqual([ownerless, rowless]);

    await registries.dead.leave();
    const [one, two] = await Promise.all([stores.c1.claimOrphanedSagas(), stores.c2.claimOrphanedSagas()]);
    const claimedBy1 = one.map((s) => s.id);
    const claimedBy2 = two.map((s) => s.id);
    expect(claimedBy1.filter((id) => claimedBy2.includes(id))).toEqual([]);
    expect([...claimedBy1, ...claimedBy2].sort((x, y) => x - y)).toEqual([...deadOpen, deadCompensating].sort((x, y) => x - y));
    // Claimed sagas come back whole, with their status and results.
    const sample = [...one, ...two].find((s) => s.id === deadCompensating)!;
    expect(sample.status).toBe('compensating');
    expect(sample.results).toEqual({ a: { outcome: 'pending' }, b: { outcome: 'pending' } });

    const after = await owners();
    for (const id of claimedBy1) expect(after.get(id)).toBe('c1');
    for (const id of claimedBy2) expect(after.get(id)).toBe('c2');
    expect(after.get(deadCompleted)).toBe('dead');
    expect(aliveOpen.map((id) => after.get(id))).toEqual(['alive', 'alive']);
    expect(after.get(c1Open)).toBe('c1');

    // Their new owners are live: nothing more to claim, for either of them.
    expect(await stores.c2.claimOrphanedSagas()).toEqual([]);
    expect(await stores.c1.claimOrphanedSagas()).toEqual([]);

    // c1 goes: c2 takes over all of c1's unfinished sagas, its own open one included.
    await registries.c1.leave();
    expect((await stores.c2.claimOrphanedSagas()).map((s) => s.id)).toEqual([...claimedBy1, ownerless, rowless, c1Open].sort((x, y) => x - y));
  });

  it('at start-up an instance recovers its own sagas and those of gone instances, not those of live ones', async () => {
    const own = await begin(stores.c1);
    const gone = await begin(stores.dead);
    const live = await begin(stores.alive);
    await registries.dead.leave();
    expect((await stores.c1.sagasToRecover()).map((s) => s.id)).toEqual([own, gone]);
    expect((await owners()).get(live)).toBe('alive');
    // Claimed once: another instance starting now finds nothing of them to recover.
    expect((await stores.c2.sagasToRecover()).map((s) => s.id)).toEqual([]);
  });
});

describe('saga owners (sqlite)', () => {
  it('one instance per file: it recovers every unfinished saga and never claims any', async () => {
    const tmp = tempDir();
    const store = openSqliteStateStore(tmp.dir);
    try {
      const open = await begin(store);
      const compensating = await begin(store);
      await store.setSagaStatus(compensating, 'compensating');
      await store.setSagaStatus(await begin(store), 'completed', 200);
      expect((await store.sagasToRecover()).map((s) => s.id)).toEqual([open, compensating]);
      expect(await store.claimOrphanedSagas()).toEqual([]);
    } finally {
      await store.close();
      tmp.remove();
    }
  });
});
