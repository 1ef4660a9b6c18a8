// The instances of a cluster sharing one PostgreSQL database: one heartbeat row each, with a
// lease that the heartbeat renews. A row whose lease has expired is an instance that is gone;
// what it left open is for a survivor to settle. Every time is the database's clock, so
// the instances' own clocks never have to agree; times are epoch ms in BIGINT, as in the other
// tables. The row also carries the instance's runtime URL, through which the others forward
// runtime operations (drain, maintenance, enable) to it.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';

/** The database's clock, epoch ms. */
export const DB_NOW_MS = `(extract(epoch FROM clock_timestamp()) * 1000)::bigint`;

export const INSTANCES_TABLE_DDL = `CREATE TABLE IF NOT EXISTS instances (
  id TEXT PRIMARY KEY,
  runtime_url TEXT,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  lease_until BIGINT NOT NULL
)`;

/** One instance as its row shows it; times in ms since the epoch. */
export interface InstanceRow {
  id: string;
  runtimeUrl: string | null;
  startedAt: number;
  lastHeartbeat: number;
  leaseUntil: number;
  /** The lease has not expired by the database's clock. */
  live: boolean;
}

export interface InstanceRegistryOptions {
  /** Default: host name, process id and a random suffix (unique across restarts). */
  id?: string;
  /** How often the row is renewed (default 2 s). */
  heartbeatMs?: number;
  /** How long a row stays live without a renewal (default 10 s: several missed heartbeats). */
  leaseMs?: number;
  /** A heartbeat that could not be written (the database is away); the next one tries again. */
  onError?: (err: Error) => void;
}

export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export class InstanceRegistry {
  readonly selfId: string;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  private runtimeUrl: string | null = null;
  private tableReady = false;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<void> | undefined;
  private readonly onError: (err: Error) => void;

  constructor(
    private readonly pool: pg.Pool,
    options: InstanceRegistryOptions = {},
  ) {
    this.selfId = options.id ?? newInstanceId();
    this.heartbeatMs = options.heartbeatMs ?? 2_000;
    this.leaseMs = options.leaseMs ?? 10_000;
    this.onError = options.onError ?? (() => {});
  }

  /**
   * Creates the table if needed, writes this instance's row, and keeps it renewed. With the
   * database away it rejects, and the heartbeat keeps trying until the row is written.
   */
  async join(runtimeUrl: string | null): Promise<void> {
    this.runtimeUrl = runtimeUrl;
    this.timer = setInterval(() => {
      // One heartbeat at a time: a slow database must not pile them up.
      this.beating ??= this.beat().finally(() => (this.beating = undefined));
    }, this.heartbeatMs);
    this.timer.unref();
    await this.renew();
  }

  private async beat(): Promise<void> {
    try {
      await this.renew();
    } catch (err) {
      this.onError(err as Error);
    }
  }

  /** Writes the row, or renews it (it is written again should it have been removed). */
  private async renew(): Promise<void> {
    if (!this.tableReady) {
      await this.pool.query(INSTANCES_TABLE_DDL);
      this.tableReady = true;
    }
    await this.pool.query(
      `INSERT INTO instances (id, runtime_url, started_at, heartbeat_at, lease_until)
       VALUES ($1, $2, ${DB_NOW_MS}, ${DB_NOW_MS}, ${DB_NOW_MS} + $3)
       ON CONFLICT (id) DO UPDATE SET runtime_url = EXCLUDED.runtime_url, heartbeat_at = EXCLUDED.heartbeat_at, lease_until = EXCLUDED.lease_until`,
      [this.selfId, this.runtimeUrl, this.leaseMs],
    );
  }

  /** Every instance that has a row, oldest first, with whether its lease still holds. */
  async instances(): Promise<InstanceRow[]> {
    // int8 arrives as a string from a plain pool, as a number from the state driver's.
    type Int8 = string | number;
    const r = await this.pool.query<{ id: string; runtime_url: string | null; started_at: Int8; heartbeat_at: Int8; lease_until: Int8; live: boolean }>(
      `SELECT id, runtime_url, started_at, heartbeat_at, lease_until, lease_until > ${DB_NOW_MS} AS live FROM instances ORDER BY started_at, id`,
    );
    return r.rows.map((row) => ({
      id: row.id,
      runtimeUrl: row.runtime_url,
      startedAt: Number(row.started_at),
      lastHeartbeat: Number(row.heartbeat_at),
      leaseUntil: Number(row.lease_until),
      live: row.live,
    }));
  }

  /**
   * Removes the rows of instances whose lease ran out more than `retentionMs` ago (by the
   * database's clock), at most `limit` of them; how many. What they left open was taken over
   * when their lease ran out: a missing row counts as gone, as an expired one.
   */
  async forgetGone(retentionMs: number, limit: number): Promise<number> {
    const r = await this.pool.query(
      `DELETE FROM instances WHERE id IN (
         SELECT id FROM instances WHERE lease_until < ${DB_NOW_MS} - $1 AND id <> $2 ORDER BY lease_until LIMIT $3)`,
      [retentionMs, this.selfId, limit],
    );
    return r.rowCount ?? 0;
  }

  /** A clean stop gives the lease up at once: the others need not wait for it to run out. */
  async leave(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.pool.query(`UPDATE instances SET lease_until = ${DB_NOW_MS} WHERE id = $1`, [this.selfId]).catch((err: Error) => this.onError(err));
  }
}
