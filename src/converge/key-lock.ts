// Serialises work on one object key: two writes to the same key must reach every backend in the
// same order, and a catch-up replay must not overtake a live write (or the backend would end up
// holding the older value while the ledger says it holds the newer one).

export class KeyLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier holder of any of `keys` is done. */
  async with<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)].sort();
    if (unique.length === 0) return fn();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const before = unique.map((k) => this.tails.get(k) ?? Promise.resolve());
    for (const k of unique) this.tails.set(k, mine);
    await Promise.all(before);
    try {
      return await fn();
    } finally {
      release();
      for (const k of unique) if (this.tails.get(k) === mine) this.tails.delete(k);
    }
  }

  get held(): number {
    return this.tails.size;
  }
}
