// Request deadlines share a signal per 10 ms: it never fires before the deadline, carries the
// deadline as its reason, and requests whose deadlines fall together share it.
import { describe, it, expect } from '@jest/globals';
import { DeadlineReached } from '../../src/backends/call-error.js';
import { DeadlineSignals } from '../../src/http/deadline-signals.js';

describe('DeadlineSignals', () => {
  it('fires at the deadline, not before, with the deadline as its reason', async () => {
    const deadlines = new DeadlineSignals();
    const started = performance.now();
    const signal = deadlines.signal(started, 50);
    expect(signal.aborted).toBe(false);
    const firedAt = await new Promise<number>((resolve) => signal.addEventListener('abort', () => resolve(performance.now())));
    expect(firedAt - started).toBeGreaterThanOrEqual(50);
    expect(signal.reason).toBeInstanceOf(DeadlineReached);
    expect((signal.reason as DeadlineReached).ms).toBe(50);
  });

  it('gives requests whose deadlines fall in the same 10 ms one signal, others their own', () => {
    const deadlines = new DeadlineSignals();
    const base = Math.ceil(performance.now() / 10) * 10 + 1;
    const a = deadlines.signal(base, 60_000);
    expect(deadlines.signal(base + 5, 60_000)).toBe(a);
    expect(deadlines.signal(base + 20, 60_000)).not.toBe(a);
    // A different deadline length names a different reason: its own signal.
    expect(deadlines.signal(base, 30_000)).not.toBe(a);
  });
});
