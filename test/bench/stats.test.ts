import { describe, expect, it } from '@jest/globals';
import { linearTrend } from '../../bench/stats.js';

describe('linearTrend', () => {
  it('fits the rise of a steady leak through noise', () => {
    const xs = Array.from({ length: 45 }, (_, i) => 480 + i * 30);
    // One fd every 100 s on top of connections in flight that swing by ±8.
    const ys = xs.map((x, i) => 55 + (x - 480) / 100 + (i % 3 === 0 ? 8 : i % 3 === 1 ? -8 : 0));
    const t = linearTrend(xs, ys);
    expect(t.slope).toBeCloseTo(0.01, 2);
    expect(t.rise).toBeGreaterThan(10);
  });

  it('finds no rise in a count that only swings, whatever the first and last samples are', () => {
    const xs = Array.from({ length: 44 }, (_, i) => i * 30);
    const ys = xs.map((_, i) => (i === 0 ? 51 : i === 43 ? 67 : i % 2 ? 58 : 54));
    const t = linearTrend(xs, ys);
    expect(Math.abs(t.rise)).toBeLessThan(5);
  });

  it('has no trend with fewer than two samples', () => {
    expect(linearTrend([5], [9])).toEqual({ slope: 0, rise: 0 });
  });
});
