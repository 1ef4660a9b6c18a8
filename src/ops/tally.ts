// Counters and histograms the request path feeds with plain arithmetic: one Map lookup by a key
// the caller joins from the label values, then an increment. prom-client reads them only when
// /metrics is scraped: they have the shape of its metrics (name, help, type, get()), so its
// registry formats them as it formats its own. Observing through prom-client itself (label
// validation, hashing label objects) cost more per request than the rest of the metrics work.

/** Joins label values into a series key: `a + SEP + b`. Label values never contain it. */
export const SEP = '\u0001';

interface MetricValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface MetricData {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

function labelsOf(names: readonly string[], key: string): Record<string, string> {
  const values = key.split(SEP);
  const labels: Record<string, string> = {};
  names.forEach((n, i) => (labels[n] = values[i] ?? ''));
  return labels;
}

export class TallyCounter {
  readonly type = 'counter';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, number>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {}

  inc(key: string): void {
    this.series.set(key, (this.series.get(key) ?? 0) + 1);
  }

  get(): Promise<MetricData> {
    const values = [...this.series].map(([key, value]) => ({ value, labels: labelsOf(this.labelNames, key) }));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}

interface Series {
  /** Per bucket (not cumulative), in the order of the upper bounds. */
  counts: Float64Array;
  sum: number;
  count: number;
}

export class TallyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly upperBounds: readonly number[],
  ) {}

  observe(key: string, value: number): void {
    let s = this.series.get(key);
    if (!s) this.series.set(key, (s = { counts: new Float64Array(this.upperBounds.length), sum: 0, count: 0 }));
    s.sum += value;
    s.count += 1;
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        s.counts[i]! += 1;
        return;
      }
    }
  }

  /** As prom-client's Histogram: cumulative buckets with `le` first, +Inf, then _sum and _count. */
  get(): Promise<MetricData> {
    const values: MetricValue[] = [];
    for (const [key, s] of this.series) {
      const labels = labelsOf(this.labelNames, key);
      let acc = 0;
      this.upperBounds.forEach((le, i) => {
        acc += s.counts[i]!;
        values.push({ value: acc, labels: { le, ...labels }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { le: '+Inf', ...labels }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }
}
