// Which backends are behind the ledger on which feature ("lagging"): they serve no reads of it
// and are left out of its writes until catch-up has replayed their backlog. The marks live in
// the state store, shared by every instance of a cluster, so that a backend one instance caught
// up is current for all. The request path asks synchronously, so this keeps a copy: changed at
// once by this instance's own marks, read again whenever the store says another instance changed
// one (PostgreSQL: LISTEN/NOTIFY), and every REFRESH_MS in case a notification was lost.
import type { Logger } from '../ops/logger.js';
import type { StateStore } from '../state/store.js';

export const REFRESH_MS = 5_000;

export class LaggingMarks {
  private marks = new Map<string, Set<string>>();
  /** Counts this instance's own changes: a re-read that overlapped one is read again. */
  private changes = 0;
  /** Marks of ours being written ('feature\0backend' → how many): a re-read keeps them. */
  private readonly pending = new Map<string, number>();
  private refreshing: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private watch: { stop(): Promise<void> } | undefined;

  constructor(
    private readonly store: () => StateStore,
    private readonly logger: Logger,
  ) {}

  has(feature: string, backend: string): boolean {
    return this.marks.get(feature)?.has(backend) ?? false;
  }

  /** Every marked pair, as the copy holds them now. */
  pairs(): { feature: string; backend: string }[] {
    return [...this.marks].flatMap(([feature, set]) => [...set].map((backend) => ({ feature, backend })));
  }

  /** Marks it here at once (this instance's requests leave it alone from now on), then in the store. */
  mark(feature: string, backend: string): Promise<void> {
    return this.markWith(feature, [backend], () => this.store().markLagging(feature, backend));
  }

  /** Marks them here at once, while `write` records the marks in the store (with other changes). */
  async markWith<T>(feature: string, backends: string[], write: () => Promise<T>): Promise<T> {
    // No mark: not a change of the marks (a re-read overlapping it need not be read again).
    if (backends.length === 0) return write();
    const ids = backends.map((b) => `${feature}\0${b}`);
    for (const [i, id] of ids.entries()) {
      this.pending.set(id, (this.pending.get(id) ?? 0) + 1);
      this.add(feature, backends[i]!);
    }
    try {
      return await this.changing(write);
    } finally {
      for (const id of ids) {
        const n = this.pending.get(id)! - 1;
        if (n > 0) this.pending.set(id, n);
        else this.pending.delete(id);
      }
    }
  }

  /** Unmarks it when its backlog is empty (store.clearLagging); true when it was. */
  async clear(feature: string, backend: string): Promise<boolean> {
    const clear = await this.changing(() => this.store().clearLagging(feature, backend));
    if (clear) this.marks.get(feature)?.delete(backend);
    return clear;
  }

  /** Whether the store marks it now (a fresh read, not the copy); the copy is updated with it. */
  async markedInStore(feature: string, backend: string): Promise<boolean> {
    const marked = (await this.store().laggingBackends()).some((m) => m.feature === feature && m.backend === backend);
    if (!marked) this.marks.get(feature)?.delete(backend);
    return marked;
  }

  /** Reads the marks; with another store, starts hearing of their changes. */
  async start(): Promise<void> {
    await this.load();
    const store = this.store();
    if (!store.watchLagging || this.watch) return;
    this.watch = store.watchLagging(
      () => this.refresh(),
      (message) => this.logger.warn(`lagging marks: ${message}`),
    );
    this.timer = setInterval(() => this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    const watch = this.watch;
    this.watch = undefined;
    await watch?.stop();
    await this.refreshing;
  }

  /** Reads the store again soon; calls that come during a read cause one more read after it. */
  refresh(): void {
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = this.load()
      .catch((err: Error) => void this.logger.debug(`lagging marks not re-read: ${err.message}`))
      .finally(() => {
        this.refreshing = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  /** Replaces the copy with the store's marks; a read that overlapped a change of ours is read again. */
  private async load(): Promise<void> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const before = this.changes;
      const rows = await this.store().laggingBackends();
      if (this.changes !== before) continue;
      this.marks = new Map();
      for (const r of rows) this.add(r.feature, r.backend);
      for (const id of this.pending.keys()) {
        const [feature, backend] = id.split('\0') as [string, string];
        this.add(feature, backend);
      }
      return;
    }
    // Changing all the time: the next notification or round reads it again.
    this.again = true;
  }

  /** A change of ours in the store: a re-read that overlaps any part of it is read again. */
  private async changing<T>(fn: () => Promise<T>): Promise<T> {
    this.changes += 1;
    try {
      return await fn();
    } finally {
      this.changes += 1;
    }
  }

  private add(feature: string, backend: string): void {
    const set = this.marks.get(feature) ?? new Set<string>();
    set.add(backend);
    this.marks.set(feature, set);
  }
}
