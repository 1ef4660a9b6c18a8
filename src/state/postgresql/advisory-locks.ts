// Per-key write order across instances: session advisory locks on a hash of each key, taken in
// sorted order on one pooled connection for as long as the write runs. pg_try_advisory_lock in
// a short loop rather than pg_advisory_lock, so that a request's deadline can stop the wait.
// A connection that dies (the instance was killed) drops its locks with it: nothing waits for
// an instance that is gone.
// Claims (one instance at a time does a piece of work, e.g. the catch-up of one backend) are the
// same kind of lock in the two-key space, which never meets the one-key space of the key locks.
import type pg from 'pg';
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

/** A session advisory lock per claim, on a pooled connection kept for as long as it is held. */
export class AdvisoryClaims implements ClusterClaims {
  constructor(readonly pool: pg.Pool) {}

  async tryHold(name: string): Promise<(() => Promise<void>) | undefined> {
    const client = await this.pool.connect();
    let lost: Error | undefined;
    const onError = (err: Error): void => void (lost ??= err);
    client.on('error', onError);
    let ok: boolean;
    try {
      ok = (await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [CLAIM_CLASS, name])).rows[0]!.ok;
    } catch (err) {
      client.off('error', onError);
      client.release(err as Error);
      throw err;
    }
    if (!ok) {
      client.off('error', onError);
      client.release();
      return undefined;
    }
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      client.off('error', onError);
      if (lost) return client.release(lost);
      try {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [CLAIM_CLASS, name]);
        client.release();
      } catch (err) {
        // Unknown whether the lock went: drop the connection, which releases it for sure.
        client.release(err as Error);
      }
    };
  }
}
