// Opens a state file with the settings every connection to it needs, then brings its schema
// up to date. The daemon and the drift CLI may hold the same file open at once.
import Database from 'better-sqlite3';
import { migrate, type MigrateResult } from './migrate.js';

/**
 * When a commit waits for the disk. All three keep the file consistent and all three survive
 * the process being killed (kill -9, OOM, a crash): in WAL mode a commit has been written to
 * the OS before it returns, and SQLite reads it back from the page cache or the disk. They
 * differ on a power loss or kernel crash, where unsynced commits of the last seconds roll back.
 * - 'normal': no commit waits (SQLite synchronous=NORMAL). Fastest; after a power loss a saga
 *   may be gone although its write reached the backends, and Foreman may have been told yes.
 * - 'barrier' (default): like 'normal', except the commits after which something leaves the
 *   process — a saga begun or snapshotted (a backend is written next), a status change (Foreman
 *   is answered next), a ledger put — are fsynced. The WAL is one sequential file, so that also
 *   secures every commit before it. What rides along unsynced until the next barrier (backend
 *   results, applied marks, retry schedules) only repeats idempotent work when lost: a result
 *   reads 'pending' again, a catch-up re-sends a put. The REX spool's barrier commits (a host
 *   or Foreman is answered next) sync the WAL file on the thread pool before they count as done
 *   (wal-sync.ts), which keeps the event loop free while the disk works.
 * - 'full': every commit is fsynced (synchronous=FULL).
 */
export type SyncMode = 'normal' | 'barrier' | 'full';

export interface ConnectionOptions {
  /** Default 'barrier': the saga log must be believed after any crash, at the fewest fsyncs. */
  synchronous?: SyncMode;
  /** How long to wait for another process's write lock before failing with SQLITE_BUSY. */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/**
 * The page size of a new state file. In WAL mode every commit writes each page it changed whole,
 * and the REX spool's commits change a few rows on many pages: at 1 KiB a job's life wrote about
 * half the bytes it did at SQLite's 4 KiB (BENCHMARKS.md). A file made with another page size
 * keeps it (WAL mode cannot change it).
 */
const PAGE_SIZE = 1024;
/** 16 MiB of WAL between automatic checkpoints. */
const WAL_CHECKPOINT_PAGES = (16 * 2 ** 20) / PAGE_SIZE;

export function openConnection(file: string, options: ConnectionOptions = {}): { db: Database.Database; migrated: MigrateResult } {
  const db = new Database(file);
  try {
    // First, so that the pragmas and migrations below wait for a busy peer instead of failing.
    db.pragma(`busy_timeout = ${Math.max(0, Math.trunc(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS))}`);
    // Only takes effect while the file is still empty (before the first table).
    db.pragma(`page_size = ${PAGE_SIZE}`);
    // WAL: readers (status page, drift CLI) never block the writer; commits append, not rewrite.
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (String(mode).toLowerCase() !== 'wal') throw new Error(`state file ${file}: cannot switch to WAL (journal_mode is ${String(mode)})`);
    // Checkpoints copy each page the WAL holds into the file once, however often it was
    // rewritten since the last one: 16 MiB rather than SQLite's 1000 pages copy the pages a busy
    // REX spool rewrites many times less often. The WAL file grows to about that.
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    // A group commit runs each change in a savepoint; SQLite keeps what a savepoint would roll
    // back in a statement journal, which spills to a temp file past 64 KiB (a REX group commit
    // wrote about 1 KiB per job there). In memory it is bounded by the pages one transaction
    // touches, and nothing of it needs to survive a crash.
    db.pragma('temp_store = MEMORY');
    // 'barrier' raises this to FULL around its barrier commits (see SqliteStateStore).
    db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    // Off by default in SQLite and per connection: without it saga_results would outlive its saga.
    db.pragma('foreign_keys = ON');
    const migrated = migrate(db);
    return { db, migrated };
  } catch (err) {
    db.close();
    throw err;
  }
}
