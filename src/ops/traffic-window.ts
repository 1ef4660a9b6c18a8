// Recent traffic per feature for the status page: the last N answers, so "error rate" and
// "latency" mean now, not since start-up.
import type { RequestRecord } from './metrics.js';

interface Sample {
  status: number;
  ms: number;
}

export interface TrafficSummary {
  requests: number;
  errors: number;
  p50ms: number | null;
}

/** A fixed ring per feature: observing is O(1) on the request path. */
interface Ring {
  items: Sample[];
  next: number;
  /** Answers and 5xx answers since start: the status history takes differences of these. */
  seen: number;
  errors: number;
}

/** Since-start counts of one feature (status-history.ts samples them). */
export interface TrafficTally {
  feature: string;
  requests: number;
  errors: number;
}

export class TrafficWindow {
  private readonly samples = new Map<string, Ring>();

  constructor(private readonly size = 500) {}

  observe(r: RequestRecord, ms: number): void {
    if (!r.feature) return;
    let ring = this.samples.get(r.feature);
    if (!ring) this.samples.set(r.feature, (ring = { items: [], next: 0, seen: 0, errors: 0 }));
    ring.seen += 1;
    if (r.status >= 500) ring.errors += 1;
    const sample = { status: r.status, ms };
    if (ring.items.length < this.size) ring.items.push(sample);
    else ring.items[ring.next] = sample;
    ring.next = (ring.next + 1) % this.size;
  }

  tallies(): TrafficTally[] {
    return [...this.samples].map(([feature, ring]) => ({ feature, requests: ring.seen, errors: ring.errors }));
  }

  /** Latencies (ms) of the feature's last `n` answers, at most the ring's size of them. */
  latest(feature: string, n: number): number[] {
    const ring = this.samples.get(feature);
    if (!ring || n <= 0) return [];
    const k = Math.min(n, ring.items.length);
    const out: number[] = [];
    for (let i = 1; i <= k; i++) out.push(ring.items[(ring.next - i + ring.items.length) % ring.items.length]!.ms);
    return out;
  }

  summary(): Record<string, TrafficSummary> {
    const out: Record<string, TrafficSummary> = {};
    for (const [feature, { items: list }] of this.samples) {
      const sorted = list.map((s) => s.ms).sort((a, b) => a - b);
      out[feature] = {
        requests: list.length,
        // 4xx are Foreman's and the backends' business (validation, conflicts); 5xx are ours.
        errors: list.filter((s) => s.status >= 500).length,
        p50ms: sorted.length ? Math.round(sorted[Math.floor((sorted.length - 1) / 2)]! * 100) / 100 : null,
      };
    }
    return out;
  }
}
