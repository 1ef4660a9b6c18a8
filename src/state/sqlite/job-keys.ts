// The spool's lookups by random key, kept in memory instead of in indexes of the state file
// (migration 10): a task id to its job's row, and a host to its jobs not yet fetched. An index on a
// random key rewrites about one page per job at every launch, and each page is a WAL frame. The
// maps are built from the rows when the spool opens and change with the transactions that change
// the rows: every change is logged with its undo, so that a rolled-back savepoint or transaction
// takes its changes back out, and a commit forgets the log.
import type Database from 'better-sqlite3';

export class JobKeys {
  private readonly ids = new Map<string, number>();
  private readonly queues = new Map<string, Set<number>>();
  private readonly undo: (() => void)[] = [];

  /** Reads every job's task id, and the hosts of those not fetched yet. */
  load(db: Database.Database): void {
    this.ids.clear();
    this.queues.clear();
    this.undo.length = 0;
    for (const [id, taskId] of db.prepare('SELECT id, task_id FROM rex_job_specs').raw().iterate() as IterableIterator<[number, string]>) {
      this.ids.set(taskId, id);
    }
    const queued = db.prepare('SELECT s.id, s.host FROM rex_job_states t JOIN rex_job_specs s ON s.id = t.id WHERE t.state IN (0, 1)');
    for (const [id, host] of queued.raw().iterate() as IterableIterator<[number, string]>) this.enqueue(host, id);
    this.undo.length = 0;
  }

  id(taskId: string): number | undefined {
    return this.ids.get(taskId);
  }

  /** Ids of the host's jobs not fetched yet, in no particular order. */
  queued(host: string): number[] {
    const q = this.queues.get(host);
    return q ? [...q] : [];
  }

  /** A launched job: known by its task id and waiting for its host. */
  add(taskId: string, id: number, host: string): void {
    this.ids.set(taskId, id);
    this.undo.push(() => this.ids.delete(taskId));
    this.enqueue(host, id);
  }

  /** Fetched or ended: no longer the host's to fetch. */
  dequeue(host: string, id: number): void {
    const q = this.queues.get(host);
    if (!q?.delete(id)) return;
    if (q.size === 0) this.queues.delete(host);
    this.undo.push(() => this.enqueue(host, id, false));
  }

  /** Pruned. */
  forget(taskId: string): void {
    const id = this.ids.get(taskId);
    if (id === undefined) return;
    this.ids.delete(taskId);
    this.undo.push(() => this.ids.set(taskId, id));
  }

  /** Where a savepoint or transaction begins. */
  mark(): number {
    return this.undo.length;
  }

  /** Takes back every change since `mark`, newest first. */
  rollbackTo(mark: number): void {
    while (this.undo.length > mark) this.undo.pop()!();
  }

  /** The outermost transaction committed: its changes stay. */
  commit(): void {
    this.undo.length = 0;
  }

  private enqueue(host: string, id: number, logged = true): void {
    let q = this.queues.get(host);
    if (!q) this.queues.set(host, (q = new Set()));
    if (q.has(id)) return;
    q.add(id);
    if (logged) this.undo.push(() => this.dequeueQuietly(host, id));
  }

  private dequeueQuietly(host: string, id: number): void {
    const q = this.queues.get(host);
    q?.delete(id);
    if (q?.size === 0) this.queues.delete(host);
  }
}
