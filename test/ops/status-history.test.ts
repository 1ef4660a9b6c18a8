// The status page's history: a bounded hour of samples, backend changes recorded the moment
// they happen (a down shorter than one interval included), ejections ended by the clock.
import { describe, it, expect } from '@jest/globals';
import { StatusHistory, type BackendReading, type SpoolReading } from '../../src/ops/status-history.js';
import { TrafficWindow } from '../../src/ops/traffic-window.js';

const T0 = 1_700_000_000_000;

function rig(opts: { intervalMs?: number; windowMs?: number; maxTransitions?: number } = {}) {
  let now = T0;
  const backends = new Map<string, BackendReading>([
    ['a', { name: 'a', state: 'up' }],
    ['b', { name: 'b', state: 'up' }],
  ]);
  const traffic = new TrafficWindow(50);
  let backlog: Record<string, number> | Error = { a: 0, b: 0 };
  let spool: SpoolReading | undefined;
  const errors: string[] = [];
  const history = new StatusHistory(
    {
      backends: () => [...backends.values()],
      traffic,
      backlog: async () => {
        if (backlog instanceof Error) throw backlog;
        return backlog;
      },
      spool: async () => spool,
    },
    { intervalMs: opts.intervalMs ?? 10_000, windowMs: opts.windowMs ?? 3_600_000, maxTransitions: opts.maxTransitions, now: () => now, onError: (e) => errors.push(e.message) },
  );
  return {
    history,
    traffic,
    errors,
    advance: (ms: number) => (now += ms),
    set: (name: string, r: Omit<BackendReading, 'name'>) => backends.set(name, { name, ...r }),
    remove: (name: string) => backends.delete(name),
    setBacklog: (b: Record<string, number> | Error) => (backlog = b),
    setSpool: (s: SpoolReading | undefined) => (spool = s),
  };
}

describe('status history', () => {
  it('keeps at most one window of samples', async () => {
    const r = rig({ intervalMs: 10_000, windowMs: 60_000 });
    for (let i = 0; i < 20; i++) {
      r.advance(10_000);
      await r.history.sample();
    }
    const view = r.history.view();
    expect(view.samples).toHaveLength(6);
    expect(view.samples.map((s) => s.at)).toEqual([5, 4, 3, 2, 1, 0].map((k) => T0 + 200_000 - k * 10_000));
    expect(view.from).toBe(T0 + 200_000 - 60_000);
  });

  it('records a down between two samples at the moment it happens', async () => {
    const r = rig();
    r.history.start();
    r.history.stop();
    r.advance(3_000);
    r.set('b', { state: 'down' });
    r.history.noteBackend('b', 'health check failed: ECONNREFUSED');
    r.advance(2_000);
    r.set('b', { state: 'up' });
    r.history.noteBackend('b', 'health check passed');
    r.advance(5_000);
    await r.history.sample();
    const t = r.history.view().transitions;
    expect(t.b).toEqual([
      { at: T0, state: 'up', why: 'start' },
      { at: T0 + 3_000, state: 'down', why: 'health check failed: ECONNREFUSED' },
      { at: T0 + 5_000, state: 'up', why: 'health check passed' },
    ]);
    // Younger than the window: the pictures span from the start.
    expect(r.history.view().from).toBe(T0);
    // Nothing changed for a: one entry, however often it is sampled.
    expect(t.a).toEqual([{ at: T0, state: 'up', why: 'start' }]);
  });

  it('ends an ejection when it was due to end, not when it is next seen', async () => {
    const r = rig();
    r.history.noteBackend('a', 'start');
    r.advance(1_000);
    r.set('a', { state: 'ejected', ejectedUntil: T0 + 4_000 });
    r.history.noteBackend('a', 'ejected for 3000 ms');
    r.set('a', { state: 'up' });
    r.advance(9_000);
    await r.history.sample();
    expect(r.history.view().transitions.a!.map((x) => [x.at - T0, x.state])).toEqual([
      [0, 'up'],
      [1_000, 'ejected'],
      [4_000, 'up'],
    ]);
  });

  it('samples catching up, which has no event of its own', async () => {
    const r = rig();
    r.history.noteBackend('b', 'start');
    r.set('b', { state: 'catching_up' });
    r.advance(10_000);
    await r.history.sample();
    expect(r.history.view().transitions.b!.map((x) => x.state)).toEqual(['up', 'catching_up']);
  });

  it('keeps the state the window opens in and drops older transitions, and caps a flapping backend', async () => {
    const r = rig({ windowMs: 60_000, maxTransitions: 5 });
    for (let i = 0; i < 4; i++) {
      r.set('a', { state: i % 2 ? 'up' : 'down' });
      r.history.noteBackend('a', `flap ${i}`);
      r.advance(10_000);
    }
    r.advance(100_000);
    await r.history.sample();
    // The last change (up, 30 s after T0) is before the window but is the state it opens in.
    expect(r.history.view().transitions.a).toEqual([{ at: T0 + 30_000, state: 'up', why: 'flap 3' }]);
    for (let i = 0; i < 12; i++) {
      r.set('a', { state: i % 2 ? 'up' : 'down' });
      r.history.noteBackend('a', `flap ${i}`);
      r.advance(1_000);
    }
    const list = r.history.view().transitions.a!;
    expect(list).toHaveLength(5);
    expect(list.at(-1)!.why).toBe('flap 11');
  });

  it('turns since-start traffic counts into per-interval answers, 5xx and median', async () => {
    const r = rig();
    const req = (status: number, ms: number) => r.traffic.observe({ feature: 'tftp', status }, ms);
    req(200, 10);
    req(200, 30);
    req(500, 20);
    r.advance(10_000);
    await r.history.sample();
    req(200, 7);
    r.advance(10_000);
    await r.history.sample();
    r.advance(10_000);
    await r.history.sample();
    expect(r.history.view().samples.map((s) => s.features.tftp)).toEqual([
      { requests: 3, errors: 1, p50ms: 20 },
      { requests: 1, errors: 0, p50ms: 7 },
      { requests: 0, errors: 0, p50ms: null },
    ]);
  });

  it('samples the backlog and the spool, and leaves a gap where a source failed', async () => {
    const r = rig();
    r.setBacklog({ a: 0, b: 7 });
    r.setSpool({ byState: { ready_for_pickup: 4, notified: 1, delivered: 2, running: 3, finished: 10 }, failed: 2, lastMinute: 6 });
    r.advance(10_000);
    await r.history.sample();
    r.setBacklog(new Error('database unreachable'));
    r.advance(10_000);
    await r.history.sample();
    r.advance(10_000);
    await r.history.sample();
    const [first, second, third] = r.history.view().samples;
    expect(first).toMatchObject({ backlog: { a: 0, b: 7 }, spool: { waiting: 4, notified: 1, running: 5, finished: 8, failed: 2, perMinute: 6 } });
    expect(second!.backlog).toBeUndefined();
    expect(third!.backlog).toBeUndefined();
    // Reported once, not on every sample.
    expect(r.errors).toEqual(['database unreachable']);
  });

  it('forgets a backend a reload removed', async () => {
    const r = rig();
    r.history.noteBackend('a', 'start');
    r.history.noteBackend('b', 'start');
    const names = () => Object.keys(r.history.view().transitions).sort();
    expect(names()).toEqual(['a', 'b']);
    r.remove('b');
    r.advance(10_000);
    await r.history.sample();
    expect(names()).toEqual(['a']);
  });
});
