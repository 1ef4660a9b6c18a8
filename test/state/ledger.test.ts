import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import type { LedgerEntry } from '../../src/state/store.js';
import { formRequest, STORE_DRIVERS, type StoreFixture } from './temp-store.js';

const put = (key: string, body: string) => ({ feature: 'tftp', key, op: 'put' as const, request: formRequest(`/tftp/${key}`, body) });
const del = (key: string) => ({ feature: 'tftp', key, op: 'delete' as const, request: formRequest(`/tftp/${key}`) });
const brief = (entries: LedgerEntry[]) => entries.map((e) => `${e.key}@${e.version}:${e.op}`);

describe.each(STORE_DRIVERS)('desired-state ledger ($name)', (driver) => {
  let fx: StoreFixture;
  beforeEach(async () => {
    fx = await driver.fixture();
  });
  afterEach(() => fx.cleanup());

  it('keeps the latest intended value per key under a new, higher version', async () => {
    const store = await fx.open();
    const v1 = await store.putDesired(put('k1', 'one'));
    fx.clock.advance(10);
    const v2 = await store.putDesired(put('k1', 'two'));
    expect(v2).toBeGreaterThan(v1);
    expect(await store.getDesired('tftp', 'k1')).toEqual({
      feature: 'tftp',
      key: 'k1',
      op: 'put',
      request: put('k1', 'two').request,
      version: v2,
      updatedAt: fx.clock.now(),
    });
    const v3 = await store.putDesired(del('k1'));
    expect(await store.getDesired('tftp', 'k1')).toMatchObject({ op: 'delete', version: v3, request: del('k1').request });
    expect(await store.getDesired('tftp', 'nope')).toBeUndefined();
    expect(await store.getDesired('dhcp', 'k1')).toBeUndefined();
  });

  it('lists a feature by version, tombstones included, other features apart', async () => {
    const store = await fx.open();
    await store.putDesired(put('b', '1'));
    await store.putDesired(put('a', '2'));
    await store.putDesired({ ...put('a', 'x'), feature: 'dhcp' });
    await store.putDesired(del('b'));
    expect(brief(await store.ledger('tftp'))).toEqual(['a@2:put', 'b@4:delete']);
    expect(brief(await store.ledger('dhcp'))).toEqual(['a@3:put']);
    expect(await store.ledger('dns')).toEqual([]);
  });

  it('never moves an applied version backwards', async () => {
    const store = await fx.open();
    expect(await store.appliedVersion('tftp', 'k', 'a')).toBe(0);
    await store.markApplied('tftp', 'k', 'a', 5);
    await store.markApplied('tftp', 'k', 'a', 3);
    expect(await store.appliedVersion('tftp', 'k', 'a')).toBe(5);
    await store.markApplied('tftp', 'k', 'a', 7);
    expect(await store.appliedVersion('tftp', 'k', 'a')).toBe(7);
    expect(await store.appliedVersion('tftp', 'k', 'b')).toBe(0);
    expect(await store.appliedVersion('dhcp', 'k', 'a')).toBe(0);
  });

  it('gives a backend that missed versions exactly the latest entry per key it lacks, tombstones included', async () => {
    const store = await fx.open();
    const apply = async (key: string, v: number, ...backends: string[]) => {
      for (const b of backends) await store.markApplied('tftp', key, b, v);
    };
    await apply('k1', await store.putDesired(put('k1', 'v1')), 'a', 'b');
    await apply('k2', await store.putDesired(put('k2', 'v2')), 'a', 'b');
    // b goes down: everything after this point reaches only a.
    await apply('k1', await store.putDesired(put('k1', 'v3')), 'a');
    await apply('k3', await store.putDesired(put('k3', 'v4')), 'a');
    await apply('k2', await store.putDesired(del('k2')), 'a');
    await apply('k3', await store.putDesired(put('k3', 'v6')), 'a');

    expect(brief(await store.backlog('tftp', 'a'))).toEqual([]);
    expect(brief(await store.backlog('tftp', 'b'))).toEqual(['k1@3:put', 'k2@5:delete', 'k3@6:put']);
    expect((await store.backlog('tftp', 'b'))[2]!.request.body).toBe('v6');
    // A backend never seen (newly added) lacks everything.
    expect(brief(await store.backlog('tftp', 'c'))).toEqual(['k1@3:put', 'k2@5:delete', 'k3@6:put']);
    expect(await store.backlogSize('tftp', 'a')).toBe(0);
    expect(await store.backlogSize('tftp', 'b')).toBe(3);
    expect(await store.backlogSize('tftp', 'c')).toBe(3);
    expect(await store.backlogSize('dhcp', 'b')).toBe(0);

    // Catching b up one entry at a time shrinks its backlog in order.
    await apply('k1', 3, 'b');
    expect(brief(await store.backlog('tftp', 'b'))).toEqual(['k2@5:delete', 'k3@6:put']);
    await apply('k3', 6, 'b');
    await apply('k2', 5, 'b');
    expect(await store.backlogSize('tftp', 'b')).toBe(0);
  });

  it('forgets what one backend of one feature holds (reset backend): its backlog is the whole ledger again', async () => {
    const store = await fx.open();
    for (const k of ['k1', 'k2']) {
      const v = await store.putDesired(put(k, k));
      for (const b of ['a', 'b']) await store.markApplied('tftp', k, b, v);
    }
    const d = await store.putDesired({ ...put('x', 'x'), feature: 'dhcp' });
    await store.markApplied('dhcp', 'x', 'b', d);
    expect(await store.forgetApplied('tftp', 'b')).toBe(2);
    expect(brief(await store.backlog('tftp', 'b'))).toEqual(['k1@1:put', 'k2@2:put']);
    expect(await store.backlogSize('tftp', 'a')).toBe(0);
    expect(await store.backlogSize('dhcp', 'b')).toBe(0);
    expect(await store.forgetApplied('tftp', 'b')).toBe(0);
  });

  it('prunes a tombstone, and its applied rows, only once every listed backend has applied it', async () => {
    const store = await fx.open();
    const vPut = await store.putDesired(put('keep', 'x'));
    const vDel = await store.putDesired(del('gone'));
    const vDel2 = await store.putDesired(del('later'));
    for (const b of ['a', 'b']) await store.markApplied('tftp', 'keep', b, vPut);
    await store.markApplied('tftp', 'gone', 'a', vDel);
    await store.markApplied('tftp', 'gone', 'b', vDel);
    await store.markApplied('tftp', 'later', 'a', vDel2);

    expect(await store.pruneTombstones('tftp', [])).toBe(0);
    expect(await store.pruneTombstones('tftp', ['a', 'b', 'c'])).toBe(0);
    expect(await store.pruneTombstones('tftp', ['a', 'b'])).toBe(1);
    expect(brief(await store.ledger('tftp'))).toEqual([`keep@${vPut}:put`, `later@${vDel2}:delete`]);
    expect(await store.appliedVersion('tftp', 'gone', 'a')).toBe(0);
    expect(await store.appliedVersion('tftp', 'keep', 'a')).toBe(vPut);
    // An older applied version does not count.
    await store.markApplied('tftp', 'later', 'b', vDel2 - 1);
    expect(await store.pruneTombstones('tftp', ['a', 'b'])).toBe(0);
    await store.markApplied('tftp', 'later', 'b', vDel2);
    expect(await store.pruneTombstones('tftp', ['a', 'b'])).toBe(1);
    expect(brief(await store.ledger('tftp'))).toEqual([`keep@${vPut}:put`]);
  });

  it('keeps the version sequence monotonic when the newest entry, a tombstone, is pruned', async () => {
    const store = await fx.open();
    await store.putDesired(put('k', 'x'));
    const vDel = await store.putDesired(del('k'));
    await store.markApplied('tftp', 'k', 'a', vDel);
    expect(await store.pruneTombstones('tftp', ['a'])).toBe(1);
    expect(await store.ledger('tftp')).toEqual([]);
    expect(await store.putDesired(put('k', 'again'))).toBe(vDel + 1);
    // The re-created key is a new backlog entry for a, whose applied row went with the tombstone.
    expect(brief(await store.backlog('tftp', 'a'))).toEqual([`k@${vDel + 1}:put`]);
    await store.close();
    const reopened = await fx.open();
    expect(await reopened.putDesired(put('z', 'y'))).toBe(vDel + 2);
  });

  it('hands out distinct increasing versions to two connections on one file', async () => {
    const one = await fx.open();
    const two = await fx.open();
    const versions: number[] = [];
    for (let i = 0; i < 20; i++) versions.push(await (i % 2 ? one : two).putDesired(put(`k${i % 3}`, String(i))));
    expect(versions).toEqual(versions.map((_, i) => i + 1));
    expect(brief(await one.ledger('tftp'))).toEqual(brief(await two.ledger('tftp')));
  });
});
