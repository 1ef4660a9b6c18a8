// The leader of a cluster: the instance that holds one session advisory lock, on a connection of
// its own. The others try to take it every `retryMs`; the leader checks its connection as often.
// A leader whose process dies loses the lock with its connection at once. One that loses the
// database (or is cut off from it) stops leading when its check fails, within retryMs plus
// checkTimeoutMs, and the server ends its silent session after idleTimeoutMs (longer than that),
// so that no other instance can lead before it has stopped. The leader's connection is named
// after its instance, which is how every instance can tell who leads (pg_stat_activity).
import pg from 'pg';
import type { Leadership } from '../leadership.js';

/** The lock, in the two-key advisory space (claims use class 0x7070 with a hash of their name). */
export const LEADER_LOCK: readonly [number, number] = [0x7071, 1];
const APP_PREFIX = 'proxy-proxy leader ';

export interface LeaderElectionOptions {
  /** This instance (instances.id). */
  selfId: string;
  /** How often a follower tries to lead, and the leader checks its connection (default 2 s). */
  retryMs?: number;
  /** A check that takes longer fails (default 5 s). */
  checkTimeoutMs?: number;
  /** The server ends a leader's session silent for this long (PostgreSQL ≥ 14; default 10 s). */
  idleTimeoutMs?: number;
  /** Leadership gained (true) or lost (false, with why). */
  onChange?: (leading: boolean, why: string) => void;
}

export class PgLeaderElection implements Leadership {
  readonly selfId: string;
  private readonly retryMs: number;
  private readonly checkTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private client: pg.Client | undefined;
  private leading = false;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private stopped = true;

  constructor(
    private readonly connection: pg.ClientConfig,
    /** Where the leader is looked up (the state store's pool). */
    private readonly pool: pg.Pool,
    private readonly options: LeaderElectionOptions,
  ) {
    this.selfId = options.selfId;
    this.retryMs = options.retryMs ?? 2_000;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 5_000;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.retryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.round;
    // Ending the connection gives the lock up.
    this.lose('stopping');
  }

  async leaderId(): Promise<string | null> {
    const { rows } = await this.pool.query<{ name: string }>(
      `SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.objsubid = 2 AND l.granted`,
      [...LEADER_LOCK],
    );
    const name = rows[0]?.name;
    return name?.startsWith(APP_PREFIX) ? name.slice(APP_PREFIX.length) : null;
  }

  /** One round at a time: a slow database must not pile them up. */
  private tick(): void {
    if (this.stopped || this.round) return;
    this.round = this.once()
      .catch((err: Error) => this.lose(err.message))
      .finally(() => (this.round = undefined));
  }

  private async once(): Promise<void> {
    const client = this.client ?? (await this.connect());
    if (this.leading) {
      await client.query('SELECT 1');
      return;
    }
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [...LEADER_LOCK]);
    if (!rows[0]!.ok || this.stopped) return;
    this.leading = true;
    this.options.onChange?.(true, 'holds the leader lock');
  }

  private async connect(): Promise<pg.Client> {
    const client = new pg.Client({
      ...this.connection,
      // A name is 63 bytes at most: a longer instance id is cut (the status matches it by prefix).
      application_name: `${APP_PREFIX}${this.selfId}`.slice(0, 63),
      query_timeout: this.checkTimeoutMs,
      connectionTimeoutMillis: this.checkTimeoutMs,
      keepAlive: true,
    });
    client.on('error', (err) => this.client === client && this.lose(err.message));
    client.on('end', () => this.client === client && this.lose('connection ended'));
    try {
      await client.connect();
      // The server ends a session that went silent (the leader was cut off): only then can
      // another instance take the lock. Older servers lack the setting; TCP keepalive remains.
      await client.query(`SET idle_session_timeout = ${Math.trunc(this.idleTimeoutMs)}`).catch(() => undefined);
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
      throw err;
    }
    this.client = client;
    return client;
  }

  private lose(why: string): void {
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      void client.end().catch(() => undefined);
    }
    if (!this.leading) return;
    this.leading = false;
    this.options.onChange?.(false, why);
  }
}
