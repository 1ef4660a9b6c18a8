// A simulator that can serve only so many requests a second (--rate-limit): each API request
// takes the next free slot, 1/N s after the one before, and waits for it; requests that come
// faster queue up, as on a real smart proxy working at its limit (one Ruby process answering
// about 180 calls a second). Benchmarks use it to see whether reads spread over backends.
export class RateLimit {
  /** performance.now() of the next free slot. */
  private next = 0;
  private readonly spacingMs: number;

  constructor(perSecond: number) {
    this.spacingMs = 1000 / perSecond;
  }

  /** Takes the next slot for a request arriving now; returns how long it must wait for it, ms. */
  take(): number {
    const now = performance.now();
    const start = Math.max(now, this.next);
    this.next = start + this.spacingMs;
    return start - now;
  }
}
