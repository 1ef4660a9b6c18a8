import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import Database from 'better-sqlite3';
import { stateFilePath } from '../../src/state/open-store.js';
import type { StoredAnswer } from '../../src/state/store.js';
import { formRequest, storeFixture } from './temp-store.js';

const request = formRequest('/tftp/PXEGrub2/00:11:22:33:44:55', 'pxeconfig=menu%20%C3%A9t%C3%A9%0A');
const before: StoredAnswer = { status: 200, headers: { 'content-type': 'text/plain' }, bodyBase64: Buffer.from([0, 255, 10, 13]).toString('base64') };
const absent: StoredAnswer = { status: 404, headers: {}, bodyBase64: '' };

describe('saga log', () => {
  let fx: ReturnType<typeof storeFixture>;
  beforeEach(() => {
    fx = storeFixture();
  });
  afterEach(() => fx.cleanup());

  const begin = (store: ReturnType<typeof fx.open>, targets = ['a', 'b']) =>
    store.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets });

  it('begins a saga open, every target pending, stamped with the clock', () => {
    const store = fx.open();
    const id = begin(store);
    expect(store.getSaga(id)).toEqual({
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
    expect(begin(store)).toBeGreaterThan(id);
    expect(store.getSaga(id + 100)).toBeUndefined();
  });

  it('merges snapshots that arrive one backend at a time, bytes intact', () => {
    const store = fx.open();
    const id = begin(store);
    store.recordSnapshots(id, { a: before });
    store.recordSnapshots(id, { b: absent });
    const saga = store.getSaga(id)!;
    expect(saga.snapshots).toEqual({ a: before, b: absent });
    expect([...Buffer.from(saga.snapshots.a!.bodyBase64, 'base64')]).toEqual([0, 255, 10, 13]);
  });

  it('keeps each backend result on its own: recording one never loses another', () => {
    const store = fx.open();
    const id = begin(store, ['a', 'b', 'c']);
    store.recordResult(id, 'b', { outcome: 'unknown', detail: 'ETIMEDOUT' });
    store.recordResult(id, 'a', { outcome: 'applied', detail: '200' });
    fx.clock.advance(5);
    store.recordResult(id, 'b', { outcome: 'compensated' });
    const saga = store.getSaga(id)!;
    expect(saga.results).toEqual({ a: { outcome: 'applied', detail: '200' }, b: { outcome: 'compensated' }, c: { outcome: 'pending' } });
    expect(saga.updatedAt).toBe(saga.createdAt + 5);
  });

  it('sets the status, keeping the answer status when none is given', () => {
    const store = fx.open();
    const id = begin(store);
    store.setSagaStatus(id, 'compensating', 409);
    expect(store.getSaga(id)).toMatchObject({ status: 'compensating', answerStatus: 409 });
    store.setSagaStatus(id, 'compensated');
    expect(store.getSaga(id)).toMatchObject({ status: 'compensated', answerStatus: 409 });
  });

  it('counts failed compensation attempts and schedules the next', () => {
    const store = fx.open();
    const id = begin(store);
    store.setSagaStatus(id, 'compensating', 503);
    store.scheduleRetry(id, 1000, 'b: ECONNREFUSED');
    store.scheduleRetry(id, 3000, 'b: 500 Internal Server Error');
    expect(store.getSaga(id)).toMatchObject({ attempts: 2, nextAttemptAt: 3000, lastError: 'b: 500 Internal Server Error' });
  });

  it('refuses to update a saga that does not exist', () => {
    const store = fx.open();
    expect(() => store.recordResult(42, 'a', { outcome: 'applied' })).toThrow('unknown saga 42');
    expect(() => store.recordSnapshots(42, { a: before })).toThrow('unknown saga 42');
    expect(() => store.setSagaStatus(42, 'completed')).toThrow('unknown saga 42');
    expect(() => store.scheduleRetry(42, 1, 'x')).toThrow('unknown saga 42');
  });

  it('lists open and compensating sagas oldest first, with their results', () => {
    const store = fx.open();
    const s1 = begin(store);
    const s2 = begin(store);
    const s3 = begin(store);
    const s4 = begin(store);
    store.setSagaStatus(s1, 'compensating', 409);
    store.setSagaStatus(s2, 'completed', 200);
    store.setSagaStatus(s4, 'compensated', 503);
    store.recordResult(s3, 'a', { outcome: 'applied', detail: '200' });
    const unfinished = store.unfinishedSagas();
    expect(unfinished.map((s) => [s.id, s.status])).toEqual([
      [s1, 'compensating'],
      [s3, 'open'],
    ]);
    expect(unfinished[1]!.results).toEqual({ a: { outcome: 'applied', detail: '200' }, b: { outcome: 'pending' } });
  });

  it('prunes only finished sagas last touched before the cut-off, with their results; ids are not reused', () => {
    const store = fx.open();
    const old = [begin(store), begin(store), begin(store), begin(store)];
    store.setSagaStatus(old[0]!, 'completed', 200);
    store.setSagaStatus(old[1]!, 'compensated', 409);
    store.setSagaStatus(old[2]!, 'compensating', 503);
    fx.clock.advance(60_000);
    const cutOff = fx.clock.now();
    const recent = begin(store);
    store.setSagaStatus(recent, 'completed', 200);

    expect(store.pruneSagas(cutOff)).toBe(2);
    expect(store.getSaga(old[0]!)).toBeUndefined();
    expect(store.getSaga(old[1]!)).toBeUndefined();
    expect(store.getSaga(old[2]!)?.status).toBe('compensating');
    expect(store.getSaga(old[3]!)?.status).toBe('open');
    expect(store.getSaga(recent)?.status).toBe('completed');
    expect(store.pruneSagas(cutOff)).toBe(0);

    // Results went with their sagas (foreign keys are on).
    const raw = new Database(stateFilePath(fx.dir), { readonly: true });
    try {
      const ids = raw.prepare('SELECT DISTINCT saga_id AS id FROM saga_results ORDER BY saga_id').all() as { id: number }[];
      expect(ids.map((r) => r.id)).toEqual([old[2], old[3], recent]);
    } finally {
      raw.close();
    }
    store.setSagaStatus(recent, 'completed');
    fx.clock.advance(1);
    expect(store.pruneSagas(fx.clock.now())).toBe(1);
    expect(begin(store)).toBeGreaterThan(recent);
  });
});
