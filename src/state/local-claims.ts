// Claims where one process owns the state (SQLite): held in memory. They still keep two tasks
// of this process apart (a reset probe and the catch-up of the same backend).
import type { ClusterClaims } from './store.js';

export class LocalClaims implements ClusterClaims {
  private readonly held = new Set<string>();

  async tryHold(name: string): Promise<(() => Promise<void>) | undefined> {
    if (this.held.has(name)) return undefined;
    this.held.add(name);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.held.delete(name);
    };
  }
}
