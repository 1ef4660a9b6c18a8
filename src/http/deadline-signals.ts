// Request deadlines as shared abort signals: requests whose deadlines fall in the same 10 ms
// share one AbortController and one timer. A controller and a timer per request (set and
// cleared around every backend call) cost more than the rest of a fast pass-through; a deadline
// that fires up to 10 ms late changes nothing for Foreman's 60 s timeout.
import { setMaxListeners } from 'node:events';
import { DeadlineReached } from '../backends/call-error.js';

/** Width of a bucket of deadlines, ms. */
const GRAIN_MS = 10;

export class DeadlineSignals {
  /** Per configured deadline (the reason names it), bucket index → bucket. */
  private readonly byLength = new Map<number, Map<number, AbortSignal>>();

  /**
   * The signal that fires `lengthMs` after `startedAt` (a performance.now() time), at most
   * GRAIN_MS late; its reason is a DeadlineReached naming `lengthMs`.
   */
  signal(startedAt: number, lengthMs: number): AbortSignal {
    let buckets = this.byLength.get(lengthMs);
    if (!buckets) this.byLength.set(lengthMs, (buckets = new Map()));
    const index = Math.ceil((startedAt + lengthMs) / GRAIN_MS);
    const found = buckets.get(index);
    if (found) return found;
    const controller = new AbortController();
    // Every request of the bucket listens (undici, key locks): no leak warning for that.
    setMaxListeners(0, controller.signal);
    const owner = buckets;
    const at = index * GRAIN_MS;
    const fire = (): void => {
      // Timers count whole milliseconds from the event loop's cached clock and may come up to
      // one early: never before the deadline, so wait out the rest.
      const early = at - performance.now();
      if (early > 0) return void setTimeout(fire, Math.ceil(early)).unref();
      owner.delete(index);
      controller.abort(new DeadlineReached(lengthMs));
    };
    // Requests in flight keep the process up, not their deadlines.
    setTimeout(fire, Math.max(0, at - performance.now())).unref();
    buckets.set(index, controller.signal);
    return controller.signal;
  }
}
