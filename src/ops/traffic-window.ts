// Recent traffic per feature for the status page: the last N answers, so "error rate" and
// "latency" mean now, not since start-up.
import type { RequestRecord } from './metrics.js';

export interface TrafficSummary {
  requests: number;
  errors: number;
  p50ms: number | null;
}

/** A fixed ring per feature: observing is two stores on the request path, nothing allocated. */
interface Ring {
  status: Uint16Array;
  ms: Float64Array;
  /** Samples held, up to the ring's size. */
  length: number;
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
    if (!ring) this.samples.set(r.feature, (ring = { status: new Uint16Array(this.size), ms: new Float64Array(this.size), length: 0, next: 0, seen: 0, errors: 0 }));
    ring.seen += 1;
    if (r.status >= 500) ring.errors += 1;
    ring.status[ring.next] = r.status;
    ring.ms[ring.next] = ms;
    if (ring.length < this.size) ring.length += 1;
    ring.next = (ring.next + 1) % this.size;
  }

  tallies(): TrafficTally[] {
    return [...this.samples].map(([feature, ring]) => ({ feature, requests: ring.seen, errors: ring.errors }));
  }

  /** Latencies (ms) of the feature's last `n` answers, at most the ring's size of them. */
  latest(feature: string, n: number): number[] {
    const ring = this.samples.get(feature);
    if (!ring || n <= 0) return [];
    const k = Math.min(n, ring.length);
    const out: number[] = [];
    for (let i = 1; i <= k; i++) out.push(ring.ms[(ring.next - i + ring.length) % ring.length]!);
    return out;
  }

  summary(): Record<string, TrafficSummary> {
    const out: Record<string, TrafficSummary> = {};
    for (const [feature, ring] of this.samples) {
      const sorted = ring.ms.slice(0, ring.length).sort();
      out[feature] = {
        requests: ring.length,
        // 4xx are Foreman's and the backends' business (validation, conflicts); 5xx are ours.
        errors: ring.status.subarray(0, ring.length).filter((s) => s >= 500).length,
        p50ms: sorted.length ? Math.round(sorted[Math.floor((sorted.length - 1) / 2)]! * 100) / 100 : null,
      };
    }
    return out;
  }
}
