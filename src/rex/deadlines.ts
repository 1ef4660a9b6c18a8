// One timer for the whole spool, instead of one per job: it sleeps until the earliest moment
// anything is due (the store knows it: pickup and execution deadlines, stops, doorbells,
// callbacks) and never longer than `maxSleepMs`, so a deadline written by another path is
// seen soon even if nobody pokes. A tick that finds more due work than it may handle at once
// comes back immediately.
export type Tick = (now: number) => { next: number | undefined; more: boolean };

export class Deadlines {
  private timer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private running = false;
  private stopped = true;

  constructor(
    private readonly tick: Tick,
    private readonly onError: (err: Error) => void,
    private readonly maxSleepMs = 1000,
    private readonly minSleepMs = 20,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(Date.now());
  }

  /** Something is due at `at` (epoch ms): wake by then. */
  poke(at: number = Date.now()): void {
    if (this.stopped || this.running) return;
    if (at < this.wakeAt) this.schedule(at);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(at: number): void {
    clearTimeout(this.timer);
    const now = Date.now();
    const wake = Math.min(Math.max(at, now + this.minSleepMs), now + this.maxSleepMs);
    this.wakeAt = wake;
    this.timer = setTimeout(() => this.fire(), wake - now);
  }

  private fire(): void {
    if (this.stopped) return;
    this.running = true;
    let next: number | undefined;
    let more = false;
    try {
      ({ next, more } = this.tick(Date.now()));
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    this.schedule(more ? Date.now() : (next ?? Infinity));
  }
}
