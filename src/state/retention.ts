// The retention clean-up: every table that would otherwise only grow (finished sagas, REX jobs
// and their output, forwarded task owners, OpenSCAP reports Foreman has, tombstones every
// backend holds, rows of long-gone instances) is pruned to its configured retention. It runs off
// the request path, on the leader only (one instance per cluster), every few minutes, in small
// batches with a pause between them: a batch holds SQLite's write lock, or PostgreSQL's row
// locks, only briefly, so that writes and REX updates go on meanwhile.
import type { Logger } from '../ops/logger.js';

/** One kind of row that goes once it is past its retention. */
export interface PruneTask {
  /** What goes, for the log: 'finished sagas older than 7 d'. */
  what: string;
  /** Removes at most `limit` rows past their retention; how many it removed. */
  prune(limit: number): Promise<number>;
}

export interface RetentionOptions {
  /** The tasks of one run, built afresh for each (the configuration may have been reloaded). */
  tasks: () => PruneTask[];
  /** Runs only where this leads. */
  leadership: { readonly isLeader: boolean };
  logger: Logger;
  /** Between two runs, ms (default 2 min). */
  intervalMs?: number;
  /** Rows per statement (default 500). */
  batch?: number;
  /** Pause between two statements, ms (default 100). */
  pauseMs?: number;
}

export const CLEANUP_INTERVAL_MS = 120_000;
export const CLEANUP_BATCH = 500;
const PAUSE_MS = 100;
/** A run stops after this many batches of one task; the next run goes on (a huge backlog never holds the chore for long). */
const MAX_BATCHES = 200;

export class RetentionChore {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private readonly batch: number;
  private readonly pauseMs: number;

  constructor(private readonly options: RetentionOptions) {
    this.batch = options.batch ?? CLEANUP_BATCH;
    this.pauseMs = options.pauseMs ?? PAUSE_MS;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs ?? CLEANUP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the schedule; a run in progress ends after its current statement. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** One run over every task, whoever leads (the schedule asks the leadership first); rows removed per task. */
  async runOnce(): Promise<Record<string, number>> {
    const removed: Record<string, number> = {};
    for (const task of this.options.tasks()) {
      let total = 0;
      for (let i = 0; i < MAX_BATCHES && !this.stopped; i++) {
        const n = await task.prune(this.batch);
        total += n;
        if (n < this.batch) break;
        await new Promise((ok) => setTimeout(ok, this.pauseMs));
      }
      removed[task.what] = total;
      if (total > 0) this.options.logger.info(`clean-up: removed ${total} ${task.what}`);
    }
    return removed;
  }

  private tick(): void {
    if (this.running || this.stopped || !this.options.leadership.isLeader) return;
    this.running = this.runOnce()
      .catch((err: Error) => this.options.logger.warn(`clean-up: ${err.message}; tried again in the next run`))
      .finally(() => (this.running = undefined));
  }
}
