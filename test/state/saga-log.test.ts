import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import type { StateStore, StoredAnswer } from '../../src/state/store.js';
import { formRequest, STORE_DRIVERS, type StoreFixture } from './temp-store.js';

const request = formRequest('/tftp/PXEGrub2/00:11:22:33:44:55', 'pxeconfig=menu%20%C3%A9t%C3%A9%0A');
const before: StoredAnswer = { status: 200, headers: { 'content-type': 'text/plain' }, bodyBase64: Buffer.from([0, 255, 10, 13]).toString('base64') };
const absent: StoredAnswer = { status: 404, headers: {}, bodyBase64: '' };

describe.each(STORE_DRIVERS)('saga log ($name)', (driver) => {
  let fx: StoreFixture;
  beforeEach(async () => {
    fx = await driver.fixture();
  });
  afterEach(() => fx.cleanup());

  const begin = (store: StateStore, targets = ['a', 'b']) =>
    store.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets });

  it('begins a saga open, every target pending, stamped with the clock', async () => {
    const store = await fx.open();
    const id = await begin(store);
    expect(await store.getSaga(id)).toEqual({
      id,
      feature: 'tftp',
      route: 'tftp.create',
      request,
      targets: ['a', 'b'],
      snapshots: {},
      results: { a: { outcome: 'pending' }, b: { outcome: 'pending' } },
      status: 'open',
      answerStatus: null,
      attempts: 0,
      nextAttemptAt: null,
      lastError: null,
      createdAt: fx.clock.now(),
      updatedAt: fx.clock.now(),
    });
    expect(await begin(store)).toBeGreaterThan(id);
    expect(await store.getSaga(id + 100)).toBeUndefined();
  });

  it('keeps each backend result on its own: recording one never loses another', async () => {
    const store = await fx.open();
    const id = await begin(store, ['a', 'b', 'c']);
    await store.recordResult(id, 'b', { outcome: 'unknown', detail: 'ETIMEDOUT' });
    await store.recordResult(id, 'a', { outcome: 'applied', detail: '200' });
    fx.clock.advance(5);
    await store.recordResult(id, 'b', { outcome: 'compensated' });
    const saga = (await store.getSaga(id))!;
    expect(saga.results).toEqual({ a: { outcome: 'applied', detail: '200' }, b: { outcome: 'compensated' }, c: { outcome: 'pending' } });
    expect(saga.updatedAt).toBe(saga.createdAt + 5);
  });

  it('sets the status, keeping the answer status when none is given', async () => {
    const store = await fx.open();
    const id = await begin(store);
    await store.setSagaStatus(id, 'compensating', 409);
    expect(await store.getSaga(id)).toMatchObject({ status: 'compensating', answerStatus: 409 });
    await store.setSagaStatus(id, 'compensated');
    expect(await store.getSaga(id)).toMatchObject({ status: 'compensated', answerStatus: 409 });
  });

  it('counts failed compensation attempts and schedules the next', async () => {
    const store = await fx.open();
    const id = await begin(store);
    await store.setSagaStatus(id, 'compensating', 503);
    await store.scheduleRetry(id, 1000, 'b: ECONNREFUSED');
    await store.scheduleRetry(id, 3000, 'b: 500 Internal Server Error');
    expect(await store.getSaga(id)).toMatchObject({ attempts: 2, nextAttemptAt: 3000, lastError: 'b: 500 Internal Server Error' });
  });

  it('refuses to update a saga that does not exist', async () => {
    const store = await fx.open();
    await expect(store.recordResult(42, 'a', { outcome: 'applied' })).rejects.toThrow('unknown saga 42');
    await expect(store.setSagaStatus(42, 'completed')).rejects.toThrow('unknown saga 42');
    await expect(store.scheduleRetry(42, 1, 'x')).rejects.toThrow('unknown saga 42');
  });

  it('lists open and compensating sagas oldest first, with their results', async () => {
    const store = await fx.open();
    const s1 = await begin(store);
    const s2 = await begin(store);
    const s3 = await begin(store);
    const s4 = await begin(store);
    await store.setSagaStatus(s1, 'compensating', 409);
    await store.setSagaStatus(s2, 'completed', 200);
    await store.setSagaStatus(s4, 'compensated', 503);
    await store.recordResult(s3, 'a', { outcome: 'applied', detail: '200' });
    const unfinished = await store.unfinishedSagas();
    expect(unfinished.map((s) => [s.id, s.status])).toEqual([
      [s1, 'compensating'],
      [s3, 'open'],
    ]);
    expect(unfinished[1]!.results).toEqual({ a: { outcome: 'applied', detail: '200' }, b: { outcome: 'pending' } });
  });

  it('begins with the snapshots and the outcomes known at the start, in one record', async () => {
    const store = await fx.open();
    const id = await store.beginSaga({
      feature: 'tftp',
      route: 'tftp.create',
      request,
      targets: ['a', 'b', 'c'],
      snapshots: { a: before, b: absent },
      results: { c: { outcome: 'deferred', detail: 'down' } },
    });
    const saga = (await store.getSaga(id))!;
    expect(saga.snapshots).toEqual({ a: before, b: absent });
    expect([...Buffer.from(saga.snapshots.a!.bodyBase64, 'base64')]).toEqual([0, 255, 10, 13]);
    expect(saga.results).toEqual({ a: { outcome: 'pending' }, b: { outcome: 'pending' }, c: { outcome: 'deferred', detail: 'down' } });
  });

  it('completes a saga with its results, ledger entries in order, who holds them and who missed them, in one step', async () => {
    const store = await fx.open();
    const id = await begin(store, ['a', 'b', 'c']);
    const put = formRequest('/tftp/PXELinux/00:11:22:33:44:55', 'pxeconfig=x');
    const del = formRequest('/tftp/PXELinux/00:11:22:33:44:66', '');
    await store.completeSaga(id, {
      feature: 'tftp',
      answerStatus: 200,
      results: { a: { outcome: 'applied', detail: '200' }, b: { outcome: 'applied', detail: '200' } },
      ledger: [
        { key: 'k1', op: 'put', request: put, appliedOn: ['a', 'b'] },
        { key: 'k2', op: 'delete', request: del, appliedOn: ['a'] },
      ],
      lagging: ['c', 'b'],
    });
    const saga = (await store.getSaga(id))!;
    expect(saga.status).toBe('completed');
    expect(saga.answerStatus).toBe(200);
    expect(saga.results).toEqual({ a: { outcome: 'applied', detail: '200' }, b: { outcome: 'applied', detail: '200' }, c: { outcome: 'pending' } });
    const ledger = await store.ledger('tftp');
    expect(ledger.map((e) => [e.key, e.op, e.request])).toEqual([
      ['k1', 'put', put],
      ['k2', 'delete', del],
    ]);
    const [v1, v2] = ledger.map((e) => e.version);
    expect(v2).toBe(v1! + 1);
    expect(await store.appliedVersion('tftp', 'k1', 'a')).toBe(v1);
    expect(await store.appliedVersion('tftp', 'k1', 'b')).toBe(v1);
    expect(await store.appliedVersion('tftp', 'k2', 'a')).toBe(v2);
    expect(await store.appliedVersion('tftp', 'k2', 'b')).toBe(0);
    expect(await store.appliedVersion('tftp', 'k1', 'c')).toBe(0);
    expect((await store.laggingBackends()).map((m) => m.backend).sort()).toEqual(['b', 'c']);
    // The next write's versions follow on.
    const next = await begin(store, ['a']);
    await store.completeSaga(next, { feature: 'tftp', results: {}, ledger: [{ key: 'k1', op: 'put', request: put, appliedOn: ['a'] }], lagging: [] });
    expect((await store.getDesired('tftp', 'k1'))!.version).toBe(v2! + 1);
    expect(await store.appliedVersion('tftp', 'k1', 'b')).toBe(v1);
  });

  it('completes nothing of a saga that does not exist', async () => {
    const store = await fx.open();
    const put = formRequest('/tftp/PXELinux/00:11:22:33:44:55', 'pxeconfig=x');
    await expect(store.completeSaga(999, { feature: 'tftp', results: {}, ledger: [{ key: 'k1', op: 'put', request: put, appliedOn: ['a'] }], lagging: ['a'] })).rejects.toThrow(/999/);
    expect(await store.ledger('tftp')).toEqual([]);
    expect(await store.laggingBackends()).toEqual([]);
  });

  it('prunes only finished sagas last touched before the cut-off, with their results; ids are not reused', async () => {
    const store = await fx.open();
    const old = [await begin(store), await begin(store), await begin(store), await begin(store)];
    await store.setSagaStatus(old[0]!, 'completed', 200);
    await store.setSagaStatus(old[1]!, 'compensated', 409);
    await store.setSagaStatus(old[2]!, 'compensating', 503);
    fx.clock.advance(60_000);
    const cutOff = fx.clock.now();
    const recent = await begin(store);
    await store.setSagaStatus(recent, 'completed', 200);

    expect(await store.pruneSagas(cutOff)).toBe(2);
    expect(await store.getSaga(old[0]!)).toBeUndefined();
    expect(await store.getSaga(old[1]!)).toBeUndefined();
    expect((await store.getSaga(old[2]!))?.status).toBe('compensating');
    expect((await store.getSaga(old[3]!))?.status).toBe('open');
    expect((await store.getSaga(recent))?.status).toBe('completed');
    expect(await store.pruneSagas(cutOff)).toBe(0);

    // Results went with their sagas (foreign keys are on).
    expect(await fx.resultSagaIds()).toEqual([old[2], old[3], recent]);
    await store.setSagaStatus(recent, 'completed');
    fx.clock.advance(1);
    expect(await store.pruneSagas(fx.clock.now())).toBe(1);
    expect(await begin(store)).toBeGreaterThan(recent);
  });
});
