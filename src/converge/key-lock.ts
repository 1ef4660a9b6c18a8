// Serialises work on one object key: two writes to the same key must reach every backend in the
// same order, and a catch-up replay must not overtake a live write (or the backend would end up
// holding the older value while the ledger says it holds the newer one). Within one process a
// queue per key does it; instances sharing a database also take the keys there (SharedKeyLocks),
// after their own queue, so that two instances writing one MAC never interleave.

import type { SharedKeyLocks } from '../state/store.js';

export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  constructor(private readonly shared: () => SharedKeyLocks | undefined = () => undefined) {}

  /**
   * Runs `fn` once every earlier holder of any of `keys` is done. When `signal` fires first,
   * rejects with its reason without running `fn`; the place in line is still passed on in
   * order, so later holders never overtake earlier ones.
   */
  async with<T>(keys: string[], fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const unique = [...new Set(keys)].sort();
    if (unique.length === 0) return fn();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = unique.map((k) => this.tails.get(k) ?? Promise.resolve());
    for (const k of unique) this.tails.set(k, mine);
    const ready = Promise.all(before);
    if (signal) {
      let onAbort!: () => void;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([ready, aborted]);
      } catch (err) {
        void ready.then(() => this.release(unique, mine, release));
        throw err;
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } else await ready;
    let releaseShared: (() => Promise<void>) | undefined;
    try {
      releaseShared = await this.shared()?.hold(unique, signal);
      return await fn();
    } finally {
      // The answer does not wait for the shared unlock (a round trip to the database); the next
      // holder of these keys in this process does, as a peer instance's lock attempt would.
      if (releaseShared) {
        void releaseShared()
          .catch(() => undefined)
          .then(() => this.release(unique, mine, release));
      } else this.release(unique, mine, release);
    }
  }

  private release(keys: string[], mine: Promise<void>, release: () => void): void {
    release();
    for (const k of keys) if (this.tails.get(k) === mine) this.tails.delete(k);
  }

  get held(): number {
    return this.tails.size;
  }
}
