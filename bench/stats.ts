// Small statistics over samples: medians across rounds, percentiles within one.

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest rank: the value below which p% of the samples fall.
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const median = (values: number[]): number => percentile(values, 50);

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/**
 * Least-squares line through (x, y): the slope per unit of x, and what the line rises over the
 * span of x. One sample of a count that moves with the traffic (open fds: connections in flight)
 * says little; the fitted rise over the whole run says whether it grows.
 */
export function linearTrend(xs: number[], ys: number[]): { slope: number; rise: number } {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return { slope: 0, rise: 0 };
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) [sx, sy] = [sx + xs[i]!, sy + ys[i]!];
  const [mx, my] = [sx / n, sy / n];
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, rise: slope * (xs[n - 1]! - xs[0]!) };
}
