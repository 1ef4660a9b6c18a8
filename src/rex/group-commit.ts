// Group commit for the host and Foreman request paths: every store change requested during one
// turn of the event loop is written in one transaction (one durable commit for a barrier), and
// each request is answered only after its own change is committed. Under load, thousands of
// fetches and updates cost a few commits rather than thousands. A change that throws fails
// alone. With a database server several groups may be committing at once (store.parallelism),
// each on its own connection; what arrives meanwhile forms the next group.
import type { JobOp, JobStore } from '../state/job-store.js';

/** Counted for the status page: how many changes a commit carries on average. */
export interface GroupCommitStats {
  groupCommits: number;
  groupChanges: number;
}

interface Queued {
  op: JobOp<unknown>;
  barrier: boolean;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

export class GroupCommit {
  private queue: Queued[] = [];
  private scheduled = false;
  private committing = 0;
  private lastStart = -Infinity;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: JobStore,
    private readonly stats?: GroupCommitStats,
    /** Bounds one transaction (and so the pause it makes); the rest go in the next group. */
    private readonly maxPerCommit = 2000,
    /**
     * A group begins at least this long after the one before it began (the store's
     * commitSpacingMs), so that under load each commit carries more changes. A change arriving
     * after a quiet spell is committed at once.
     */
    private readonly spacingMs = store.commitSpacingMs ?? 0,
  ) {}

  /** Runs `op` in the next group, through the transaction handle it is given; `barrier`: durable before resolving. */
  run<T>(op: JobOp<T>, barrier: boolean): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, barrier, resolve: resolve as (v: unknown) => void, reject });
      this.schedule();
    });
  }

  /** Commits everything queued and waits for groups in flight (on stop, before the store closes). */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.committing > 0) {
      if (this.committing < this.store.parallelism && this.queue.length > 0) void this.commitSome();
      else await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.committing >= this.store.parallelism) return;
    this.scheduled = true;
    const go = () => {
      this.scheduled = false;
      while (this.queue.length > 0 && this.committing < this.store.parallelism) void this.commitSome();
    };
    const wait = this.lastStart + this.spacingMs - performance.now();
    if (wait > 1 && this.queue.length < this.maxPerCommit) setTimeout(go, wait);
    else setImmediate(go);
  }

  private async commitSome(): Promise<void> {
    const batch = this.queue.splice(0, this.maxPerCommit);
    this.committing += 1;
    this.lastStart = performance.now();
    if (this.stats) {
      this.stats.groupCommits += 1;
      this.stats.groupChanges += batch.length;
    }
    try {
      const results = await this.store.transact(
        batch.map((q) => q.op),
        batch.some((q) => q.barrier),
      );
      results.forEach((r, i) => (r.ok ? batch[i]!.resolve(r.value) : batch[i]!.reject(r.error)));
    } catch (err) {
      for (const q of batch) q.reject(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.committing -= 1;
      for (const wake of this.idleWaiters.splice(0)) wake();
      this.schedule();
    }
  }
}
