// One timer for the whole spool, instead of one per job: it sleeps until the earliest moment
// anything is due (the store knows it: pickup and execution deadlines, stops, doorbells,
// callbacks) and never longer than `maxSleepMs`, so a deadline written by a request in the
// meantime is seen within that bound. A tick that finds more due work than it may handle at
// once comes back immediately.
export type Tick = (now: number) => Promise<{ next: number | undefined; more: boolean }>;

export class Deadlines {
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly tick: Tick,
    private readonly onError: (err: Error) => void,
    private readonly maxSleepMs = 1000,
    // Work can be due yet wait (a full rate limit): a floor keeps that from spinning.
    private readonly minSleepMs = 50,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(Date.now());
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
    this.timer = setTimeout(() => void this.fire(), wake - now);
  }

  private async fire(): Promise<void> {
    if (this.stopped) return;
    let next: number | undefined;
    let more = false;
    try {
      ({ next, more } = await this.tick(Date.now()));
    } catch (err) {
      this.onError(err instanceof Error ? err : new Error(String(err)));
    }
    if (this.stopped) return;
    this.schedule(more ? Date.now() : (next ?? Infinity));
  }
}
