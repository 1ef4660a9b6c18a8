// Group commit for the host and Foreman request paths: every store change requested during one
// turn of the event loop is written in one transaction (one fsync for a barrier), and each
// request is answered only after its own change is committed. Under load, thousands of fetches
// and updates cost a few commits rather than thousands. A change that throws fails alone.
import type { JobStore } from '../state/job-store.js';

interface Queued {
  op: () => unknown;
  barrier: boolean;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;

  constructor(
    private readonly store: JobStore,
    /** Bounds one transaction (and so the pause it makes); the rest go in the next turn. */
    private readonly maxPerCommit = 2000,
  ) {}

  /** Runs `op` (synchronous store calls) in the next group; `barrier`: durable before resolving. */
  run<T>(op: () => T, barrier: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, barrier, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits everything queued now (on stop, before the store closes). */
  drain(): void {
    while (this.queue.length > 0) this.commitSome();
  }

  private flush(): void {
    this.scheduled = false;
    this.commitSome();
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private commitSome(): void {
    const batch = this.queue.splice(0, this.maxPerCommit);
    let results;
    try {
      results = this.store.transact(
        batch.map((q) => q.op),
        batch.some((q) => q.barrier),
      );
    } catch (err) {
      for (const q of batch) q.reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r.value) : batch[i]!.reject(r.error)));
  }
}
