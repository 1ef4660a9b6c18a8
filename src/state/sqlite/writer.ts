// How both SQLite stores write: IMMEDIATE transactions (the write lock is taken at BEGIN, so a
// second process waits instead of failing mid-transaction), and in 'barrier' mode an fsync on
// the commits that something outside the process relies on next (a backend call, an answer).
import type Database from 'better-sqlite3';

export class SqliteWriter {
  /** Created once, like the statements: BEGIN/COMMIT are prepared inside it. */
  readonly transaction: Database.Transaction<(fn: () => unknown) => unknown>;

  constructor(
    private readonly db: Database.Database,
    private readonly barriers: boolean,
  ) {
    this.transaction = db.transaction((fn: () => unknown) => fn());
  }

  write<T>(fn: () => T): T {
    return this.transaction.immediate(fn) as T;
  }

  /** A deferred transaction: several SELECTs see one snapshot even while a peer writes. */
  read<T>(fn: () => T): T {
    return this.transaction.deferred(fn) as T;
  }

  barrier<T>(fn: () => T): T {
    if (!this.barriers) return this.write(fn);
    // Not a prepared statement: this pragma acts when it is compiled, not when it is run.
    // It costs no I/O, applies from the next commit on, and is refused inside a transaction.
    this.db.pragma('synchronous = FULL');
    try {
      return this.write(fn);
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }
}
