// Leader election on PostgreSQL: one of several candidates leads; its lost connection or its stop
// hands the lead to another, and the one that lost it knows.
import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import pg from 'pg';
import { LEADER_LOCK, PgLeaderElection } from '../../src/state/postgresql/leader-election.js';
import { freshDatabase } from '../support/postgres.js';

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check() && Date.now() < end) await sleep(20);
  if (!check()) throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

describe('leader election (postgresql)', () => {
  let url: string;
  let pool: pg.Pool;
  const elections: PgLeaderElection[] = [];
  const events: string[] = [];
  const candidate = (selfId: string) => {
    const e = new PgLeaderElection({ connectionString: url }, pool, {
      selfId,
      retryMs: 100,
      checkTimeoutMs: 2000,
      onChange: (leading, why) => events.push(`${selfId} ${leading ? 'leads' : `stops: ${why}`}`),
    });
    elections.push(e);
    e.start();
    return e;
  };

  beforeEach(async () => {
    url = await freshDatabase();
    pool = new pg.Pool({ connectionString: url, max: 2 });
    events.length = 0;
  });
  afterEach(async () => {
    for (const e of elections.splice(0)) await e.stop();
    await pool.end();
  });

  it('one of three leads, every candidate can tell which; a stop hands the lead on', async () => {
    const all = ['one', 'two', 'three'].map(candidate);
    await until(() => all.some((e) => e.isLeader), 'a leader');
    await sleep(500);
    const leaders = all.filter((e) => e.isLeader);
    expect(leaders).toHaveLength(1);
    const first = leaders[0]!;
    for (const e of all) expect(await e.leaderId()).toBe(first.selfId);

    await first.stop();
    expect(first.isLeader).toBe(false);
    await until(() => all.some((e) => e.isLeader), 'a new leader');
    const next = all.find((e) => e.isLeader)!;
    expect(next).not.toBe(first);
    expect(await first.leaderId()).toBe(next.selfId);
    expect(events).toEqual([`${first.selfId} leads`, `${first.selfId} stops: stopping`, `${next.selfId} leads`]);
  });

  it('a leader whose connection dies stops leading, and another takes the lead', async () => {
    const a = candidate('a');
    await until(() => a.isLeader, 'a leads');
    const b = candidate('b');
    await sleep(300);
    expect(b.isLeader).toBe(false);
    const killed = await pool.query(
      `SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND objid = $2 AND objsubid = 2 AND granted`,
      [...LEADER_LOCK],
    );
    expect(killed.rowCount).toBe(1);
    await until(() => !a.isLeader, 'a no longer leads');
    await until(() => a.isLeader || b.isLeader, 'someone leads again');
    expect(a.isLeader && b.isLeader).toBe(false);
    expect(events[0]).toBe('a leads');
    expect(events[1]).toMatch(/^a stops: /);
  });
});
