import { describe, it, expect } from '@jest/globals';
import { HealthState } from '../../src/backends/health-state.js';

const checks = { interval_ms: 2000, timeout_ms: 1000, rise: 2, fall: 3 };
const ejection = { consecutive_failures: 3, base_ejection_ms: 1000, max_ejection_ms: 4000, decay_after_ms: 10_000 };

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('HealthState', () => {
  it('goes down after `fall` bad checks and up again after `rise` good ones', () => {
    const changes: string[] = [];
    const h = new HealthState(checks, ejection, Date.now, (f, t) => changes.push(`${f}->${t}`));
    expect(h.state).toBe('up');
    h.recordCheck(false, 'x');
    h.recordCheck(false, 'x');
    expect(h.state).toBe('up');
    h.recordCheck(false, 'x');
    expect(h.state).toBe('down');
    expect(h.available).toBe(false);
    h.recordCheck(true, 'ok');
    expect(h.state).toBe('down');
    h.recordCheck(true, 'ok');
    expect(h.state).toBe('up');
    expect(changes).toEqual(['up->down', 'down->up']);
  });

  it('a good check in between resets the bad count', () => {
    const h = new HealthState(checks, ejection);
    h.recordCheck(false, 'x');
    h.recordCheck(false, 'x');
    h.recordCheck(true, 'ok');
    h.recordCheck(false, 'x');
    h.recordCheck(false, 'x');
    expect(h.state).toBe('up');
  });

  it('ejects after N consecutive live failures, for a back-off that doubles and is capped', () => {
    const c = clock();
    const h = new HealthState(checks, ejection, c.now);
    expect(h.recordLiveFailure('e')).toBe(false);
    expect(h.recordLiveFailure('e')).toBe(false);
    expect(h.recordLiveFailure('e')).toBe(true);
    expect(h.available).toBe(false);
    expect(h.snapshot().ejectedUntil).toBe(c.now() + 1000);
    c.advance(1001);
    expect(h.available).toBe(true);
    for (let i = 0; i < 3; i++) h.recordLiveFailure('e');
    expect(h.snapshot().ejectedUntil).toBe(c.now() + 2000);
    c.advance(2001);
    for (let i = 0; i < 3; i++) h.recordLiveFailure('e');
    expect(h.snapshot().ejectedUntil).toBe(c.now() + 4000);
    c.advance(4001);
    for (let i = 0; i < 3; i++) h.recordLiveFailure('e');
    expect(h.snapshot().ejectedUntil).toBe(c.now() + 4000);
  });

  it('the back-off steps down once per decay_after_ms spent healthy, not while down', () => {
    const c = clock();
    const h = new HealthState(checks, ejection, c.now);
    const eject = () => {
      for (let i = 0; i < 3; i++) h.recordLiveFailure('e');
      return h.snapshot().ejectedUntil! - c.now();
    };
    expect([eject(), (c.advance(1001), eject()), (c.advance(2001), eject())]).toEqual([1000, 2000, 4000]);
    expect(h.snapshot().ejections).toBe(3);
    // Healthy for two decay periods after the ejection ended: two steps down.
    c.advance(4000 + 20_000);
    expect(h.snapshot().ejections).toBe(1);
    expect(eject()).toBe(2000);
    // Time spent down (checks failing) does not count.
    c.advance(2000);
    for (let i = 0; i < 3; i++) h.recordCheck(false, 'x');
    c.advance(50_000);
    expect(h.snapshot().ejections).toBe(2);
    h.recordCheck(true, 'ok');
    h.recordCheck(true, 'ok');
    c.advance(10_000);
    expect(h.snapshot().ejections).toBe(1);
    c.advance(10_000);
    expect(h.snapshot().ejections).toBe(0);
    expect(eject()).toBe(1000);
  });

  it('a success resets the consecutive-failure count', () => {
    const h = new HealthState(checks, ejection);
    h.recordLiveFailure('e');
    h.recordLiveFailure('e');
    h.recordLiveSuccess();
    expect(h.recordLiveFailure('e')).toBe(false);
    expect(h.available).toBe(true);
  });

  it('drained and maintenance take no traffic; maintenance also skips checks', () => {
    const h = new HealthState(checks, ejection);
    h.setOperational('drained', 'test');
    expect(h.state).toBe('drained');
    expect(h.available).toBe(false);
    expect(h.inService).toBe(false);
    expect(h.checksEnabled).toBe(true);
    h.setOperational('maintenance', 'test');
    expect(h.checksEnabled).toBe(false);
    h.setOperational('active', 'test');
    expect(h.state).toBe('up');
  });
});
