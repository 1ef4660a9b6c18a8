// A barrier commit of the spool made durable without holding up the process: the transaction
// commits without a sync (synchronous=NORMAL), then the WAL file is synced on libuv's thread pool,
// and only then is the commit reported done. That is what synchronous=FULL does inside COMMIT,
// where better-sqlite3 would block the event loop for the length of the sync, every request and
// timer with it. A WAL frame counts once its commit frame and everything before it is on disk,
// so syncing the file after the commit secures that commit and every one before it; a frame of a
// later transaction the sync half caught fails its checksum on recovery and is left out. Syncs
// that overlap share: a caller waits for the first sync that began after its commit.
import { open, type FileHandle } from 'node:fs/promises';

export class WalSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private handle: Promise<FileHandle> | undefined;

  constructor(private readonly walFile: string) {}

  /** Resolves once everything committed before this call is on disk. */
  sync(): Promise<void> {
    if (!this.running) {
      this.running = this.syncNow().finally(() => (this.running = undefined));
      return this.running;
    }
    // The sync under way may have begun before this caller's commit: one more after it.
    this.next ??= this.running.then(
      () => this.afterRunning(),
      () => this.afterRunning(),
    );
    return this.next;
  }

  /** After the last sync: the file stays open meanwhile. */
  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await (await handle?.catch(() => undefined))?.close();
  }

  private afterRunning(): Promise<void> {
    this.next = undefined;
    return this.sync();
  }

  private async syncNow(): Promise<void> {
    try {
      // Kept open: SQLite removes the file only when the last connection to it closes, and the
      // spool's own stays open as long as this is used.
      const handle = await (this.handle ??= open(this.walFile, 'r'));
      await handle.datasync();
    } catch (err) {
      // Opened afresh next time.
      const handle = this.handle;
      this.handle = undefined;
      void handle?.then((h) => h.close()).catch(() => undefined);
      throw err;
    }
  }
}
