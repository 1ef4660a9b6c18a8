// Per-key write order across instances: session advisory locks on a hash of each key, taken in
// sorted order on one pooled connection for as long as the write runs. pg_try_advisory_lock in
// a short loop rather than pg_advisory_lock, so that a request's deadline can stop the wait.
// A connection that dies (the instance was killed) drops its locks with it: nothing waits for
// an instance that is gone.
// Claims (one instance at a time does a piece of work, e.g. the catch-up of one backend) are the
// same kind of lock in the two-key space, which never meets the one-key space of the key locks.
import pg from 'pg';
import type { ClusterClaims, SharedKeyLocks } from '../store.js';

/** First key of every claim; the second is a hash of its name. */
export const CLAIM_CLASS = 0x7070;

const RETRY_MS = 5;

export class AdvisoryKeyLocks implements SharedKeyLocks {
  constructor(readonly pool: pg.Pool) {}

  async hold(keys: string[], signal?: AbortSignal): Promise<() => Promise<void>> {
    const sorted = [...new Set(keys)].sort();
    const client = await this.pool.connect();
    // A connection lost while held (database restarted) reports here, not to the pool: without a
    // listener the process would die. The write in progress fails on its next store call.
    let lost: Error | undefined;
    const onError = (err: Error): void => void (lost ??= err);
    client.on('error', onError);
    const held: string[] = [];
    const release = async (): Promise<void> => {
      client.off('error', onError);
      if (lost) return client.release(lost);
      try {
        for (const k of held.reverse()) await client.query({ name: 'pp-key-unlock', text: 'SELECT pg_advisory_unlock(hashtextextended($1, 0))', values: [k] });
        client.release();
      } catch (err) {
        // Unknown whether the locks went: drop the connection, which releases them for sure.
        client.release(err as Error);
      }
    };
    try {
      for (const key of sorted) {
        for (;;) {
          signal?.throwIfAborted();
          const r = await client.query<{ ok: boolean }>({ name: 'pp-key-lock', text: 'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', values: [key] });
          if (r.rows[0]!.ok) break;
          await new Promise((ok) => setTimeout(ok, RETRY_MS));
        }
        held.push(key);
      }
      return release;
    } catch (err) {
      await release();
      throw err;
    }
  }
}

/**
 * Claims as session advisory locks on one dedicated connection of this instance: any number of
 * claims at once cost one connection, and never wait for a pooled one (a catch-up holding its
 * claim takes key locks from the pool). A session's locks are re-entrant, so the names held
 * here are also kept in a set: within the process a claim has one holder too. When the
 * connection dies its locks go with it; the next claim opens a new one.
 */
export class AdvisoryClaims implements ClusterClaims {
  private client: pg.Client | undefined;
  private connecting: Promise<pg.Client> | undefined;
  /** Bumped when the connection is lost: a release of an older one has nothing to unlock. */
  private generation = 0;
  private readonly held = new Set<string>();
  private closed = false;
  /** The last query sent on the connection: the next one waits for it (see `serially`). */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly config: pg.ClientConfig) {}

  /**
   * Claims taken at once share the one connection: their queries go one after another. pg
   * would queue them itself, but that is deprecated and goes in its next major version.
   */
  private serially<T>(query: () => Promise<T>): Promise<T> {
    const run = this.tail.then(query, query);
    this.tail = run.catch(() => undefined);
    return run;
  }

  async tryHold(name: string): Promise<(() => Promise<void>) | undefined> {
    if (this.held.has(name) || this.closed) return undefined;
    this.held.add(name);
    let client: pg.Client;
    let generation: number;
    let ok: boolean;
    try {
      client = await this.connection();
      generation = this.generation;
      ok = (await this.serially(() => client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [CLAIM_CLASS, name]))).rows[0]!.ok;
    } catch (err) {
      this.held.delete(name);
      throw err;
    }
    if (!ok) {
      this.held.delete(name);
      return undefined;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.held.delete(name);
      if (generation !== this.generation) return;
      // Unknown whether the lock went: drop the connection, which releases it for sure.
      await this.serially(() => client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [CLAIM_CLASS, name])).catch(() => this.drop(client));
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client;
    if (c) this.drop(c);
    await c?.end().catch(() => undefined);
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const c = new pg.Client(this.config);
      c.on('error', () => this.drop(c));
      c.on('end', () => this.drop(c));
      try {
        await c.connect();
      } catch (err) {
        c.removeAllListeners();
        await c.end().catch(() => undefined);
        throw err;
      }
      if (this.closed) {
        await c.end().catch(() => undefined);
        throw new Error('claims closed');
      }
      this.client = c;
      return c;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private drop(c: pg.Client): void {
    if (this.client !== c) return;
    this.client = undefined;
    this.generation += 1;
    c.on('error', () => undefined);
    void c.end().catch(() => undefined);
  }
}
