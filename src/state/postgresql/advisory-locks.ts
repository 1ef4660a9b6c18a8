// Per-key write order across instances: session advisory locks on a hash of each key, taken in
// sorted order on one pooled connection for as long as the write runs. pg_try_advisory_lock in
// a short loop rather than pg_advisory_lock, so that a request's deadline can stop the wait.
// A connection that dies (the instance was killed) drops its locks with it: nothing waits for
// an instance that is gone.
import type pg from 'pg';
import type { SharedKeyLocks } from '../store.js';

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
        for (const k of held.reverse()) await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [k]);
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
          const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [key]);
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
