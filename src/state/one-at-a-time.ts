// Keeps a synchronous connection's work from interleaving with a group transaction that spans
// promise turns: callers queue while one runs. Unlike a promise-chain mutex, work that finds the
// connection free runs at once, in the caller's turn, so an uncontended call costs nothing.
export class OneAtATime {
  private busy = false;
  private readonly waiting: (() => void)[] = [];

  run<T>(work: () => T | Promise<T>): Promise<T> {
    if (this.busy) return new Promise<void>((resolve) => this.waiting.push(resolve)).then(() => this.start(work));
    this.busy = true;
    return this.start(work);
  }

  private start<T>(work: () => T | Promise<T>): Promise<T> {
    let result: T | Promise<T>;
    try {
      result = work();
    } catch (err) {
      this.next();
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (!(result instanceof Promise)) {
      this.next();
      return Promise.resolve(result);
    }
    return result.finally(() => this.next());
  }

  /** Hands the connection to the next in line (it stays busy) or frees it. */
  private next(): void {
    const wake = this.waiting.shift();
    if (wake) wake();
    else this.busy = false;
  }
}
