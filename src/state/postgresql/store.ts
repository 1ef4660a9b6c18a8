// The StateStore on PostgreSQL: the same tables as the SQLite driver (postgresql/migrations.ts),
// shared by every instance of a cluster. What belongs together runs in one transaction; the
// ledger's version comes from one sequence row, so versions are handed out in commit order
// across instances, as on SQLite.
import type pg from 'pg';
import type { MigrateResult } from '../migration.js';
import type { BackendResult, LaggingMark, LedgerEntry, SagaBegin, SagaRecord, SagaStatus, SagaSuccess, StateStore, StoredRequest } from '../store.js';
import { AdvisoryClaims, AdvisoryKeyLocks } from './advisory-locks.js';
import { ChannelListener } from './channel-listener.js';
import { DB_NOW_MS, newInstanceId } from './instances.js';
import { migratePostgres } from './migrate.js';
import { createPool, gatedPool, inTransaction, type PoolSettings } from './pool.js';
import { isStateUnavailable, unavailableReason } from '../unavailable.js';
import { FINISHED, LEDGER_COLUMNS, SAGA_COLUMNS, UNFINISHED, toEntry, toSaga, unknownSaga, type LedgerRow, type ResultRow, type SagaRow } from '../state-rows.js';

export interface PgStateStoreOptions {
  /** Clock for created_at/updated_at (epoch ms); tests pass their own. */
  now?: () => number;
  /** Close the pool with the store (default true when the store created it). */
  ownsPool?: boolean;
  /** This instance's id (its row in instances): the owner of the sagas it begins. */
  instanceId?: string;
  /**
   * Connections for key locks, apart from the store's: a write holds one for as long as it runs
   * and records its saga through the store meanwhile, so on one pool N concurrent writes would
   * hold all N connections and wait for an (N+1)th forever. Default: the store's pool.
   */
  lockPool?: pg.Pool;
  /**
   * With these, open() does not fail when the database cannot be reached: the store refuses
   * everything with StateUnavailableError until it has connected and brought the schema up to
   * date, which it keeps trying by itself. Without, open() fails (the CLI's commands, tests).
   */
  waitForDatabase?: {
    /** The database is not usable (at first, and whenever the reason changes). */
    onWaiting(reason: string): void;
    onReady(migrated: MigrateResult): void;
  };
}

/** Between two attempts to reach a database that was away at start. */
const OPEN_RETRY_MS = { first: 500, max: 5_000 };

/** Where a change of a lagging mark is announced to every instance. */
export const LAGGING_CHANNEL = 'proxy_proxy_lagging';

/** Entries of `feature` ($1) that `backend` ($2) has not applied: its catch-up backlog. */
const BACKLOG_OF = `SELECT 1 FROM ledger l
  LEFT JOIN ledger_applied a ON a.feature = l.feature AND a.key = l.key AND a.backend = $2
  WHERE l.feature = $1 AND l.version > COALESCE(a.version, 0)`;


export class PgStateStore implements StateStore {
  /** Per-key write order across every instance on this database. */
  readonly keyLocks: AdvisoryKeyLocks;
  /** One instance at a time (catch-up of a backend), on a connection of their own. */
  readonly claims: AdvisoryClaims;
  /** Owner of the sagas this store begins; the daemon's heartbeat row has the same id. */
  readonly instanceId: string;
  private readonly now: () => number;
  private readonly ownsPool: boolean;
  private readonly lockPool: pg.Pool | undefined;
  private closed = false;

  constructor(
    readonly pool: pg.Pool,
    options: PgStateStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.ownsPool = options.ownsPool ?? false;
    this.instanceId = options.instanceId ?? newInstanceId();
    this.lockPool = options.lockPool;
    this.keyLocks = new AdvisoryKeyLocks(options.lockPool ?? pool);
    this.claims = new AdvisoryClaims(dedicatedConnection(pool, 'claims'));
  }

  /**
   * Connects, brings the schema up to date, and returns the store. `migrated` is undefined when
   * the database could not be reached and options.waitForDatabase lets the store open anyway.
   */
  static async open(settings: PoolSettings, options: PgStateStoreOptions = {}): Promise<PgStateStore & { migrated: MigrateResult | undefined }> {
    const pool = createPool(settings);
    const lockPool = createPool({ ...settings, applicationName: `${settings.applicationName ?? 'proxy-proxy'} key locks` });
    const where = `state database ${redact(settings.url)}`;
    let reason: string | undefined;
    try {
      const migrated = await migratePostgres(pool, where);
      return Object.assign(new PgStateStore(pool, { ownsPool: true, lockPool, ...options }), { migrated });
    } catch (err) {
      if (!options.waitForDatabase || !isStateUnavailable(err)) {
        await Promise.all([pool.end(), lockPool.end()]).catch(() => undefined);
        throw err;
      }
      reason = `${redact(settings.url)} not reached yet (${unavailableReason(err)})`;
    }
    // Away at start: the instance starts all the same, and refuses what needs the state until
    // the schema is there (a half-migrated or missing schema must not be written to).
    const waiting = options.waitForDatabase;
    const store = new PgStateStore(
      gatedPool(pool, () => reason),
      { ownsPool: true, lockPool, ...options },
    );
    waiting.onWaiting(reason);
    void (async () => {
      for (let wait = OPEN_RETRY_MS.first; !store.closed; wait = Math.min(wait * 2, OPEN_RETRY_MS.max)) {
        await new Promise((r) => setTimeout(r, wait).unref());
        if (store.closed) return;
        try {
          const migrated = await migratePostgres(pool, where);
          reason = undefined;
          waiting.onReady(migrated);
          return;
        } catch (err) {
          const now = `${redact(settings.url)} not usable yet (${unavailableReason(err)})`;
          if (now !== reason) waiting.onWaiting(now);
          reason = now;
        }
      }
    })();
    return Object.assign(store, { migrated: undefined });
  }

  // --- saga log ---

  // Each write of a saga is one statement (data-modifying CTEs where it touches two tables): a
  // replicated write makes several, and each round trip to the server is on its answer's path.
  // The statements on that path are named: each connection parses and plans them once, not per
  // write (about a third of a begin's time; see docs/design-notes.md).
  async beginSaga(input: SagaBegin): Promise<number> {
    // 'pending' unless known: after a crash that reads "may or may not have been applied".
    const targets = [...new Set(input.targets)];
    const known = targets.map((b) => input.results?.[b]);
    const { rows } = await this.pool.query<{ id: number }>({
      name: 'pp-saga-begin',
      text: `WITH s AS (
         INSERT INTO sagas (feature, route, request, targets, snapshots, status, created_at, updated_at, owner)
         VALUES ($1, $2, $3, $4, $5, 'open', $6, $6, $7) RETURNING id),
       r AS (
         INSERT INTO saga_results (saga_id, backend, outcome, detail, updated_at)
         SELECT s.id, b, o, d, $6 FROM s, unnest($8::text[], $9::text[], $10::text[]) AS t(b, o, d))
       SELECT id FROM s`,
      values: [
        input.feature,
        input.route,
        JSON.stringify(input.request),
        JSON.stringify(input.targets),
        JSON.stringify(input.snapshots ?? {}),
        this.now(),
        this.instanceId,
        targets,
        known.map((k) => k?.outcome ?? 'pending'),
        known.map((k) => k?.detail ?? null),
      ],
    });
    return rows[0]!.id;
  }

  async completeSaga(id: number, success: SagaSuccess): Promise<void> {
    const results = Object.entries(success.results);
    const applied = success.ledger.flatMap((e, i) => e.appliedOn.map((b) => [i + 1, b] as const));
    // One statement: versions are taken in one step of the sequence (its row lock lasts until
    // the commit, so versions become visible in order) and handed out in ledger order; the
    // others hear of a new lagging mark once it is committed.
    const { rows } = await this.pool.query<{ found: number }>({
      name: 'pp-saga-complete',
      text: `WITH s AS (UPDATE sagas SET status = 'completed', answer_status = COALESCE($3, answer_status), updated_at = $4 WHERE id = $1 RETURNING id),
       v AS (UPDATE ledger_sequence SET version = version + cardinality($5::text[]) WHERE id = 1 AND cardinality($5::text[]) > 0 AND EXISTS (SELECT FROM s) RETURNING version),
       c AS (SELECT e.n, e.key, e.op, e.request, v.version - cardinality($5::text[]) + e.n AS version
               FROM v, unnest($5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS e(key, op, request, n)),
       l AS (INSERT INTO ledger (feature, key, op, request, version, updated_at) SELECT $2, key, op, request, version, $4 FROM c
               ON CONFLICT (feature, key) DO UPDATE SET op = excluded.op, request = excluded.request, version = excluded.version, updated_at = excluded.updated_at),
       a AS (INSERT INTO ledger_applied (feature, key, backend, version)
               SELECT $2, c.key, x.b, c.version FROM unnest($8::int[], $9::text[]) AS x(n, b) JOIN c ON c.n = x.n
               ON CONFLICT (feature, key, backend) DO UPDATE SET version = excluded.version WHERE excluded.version > ledger_applied.version),
       r AS (INSERT INTO saga_results (saga_id, backend, outcome, detail, updated_at)
               SELECT s.id, b, o, d, $4 FROM s, unnest($10::text[], $11::text[], $12::text[]) AS y(b, o, d)
               ON CONFLICT (saga_id, backend) DO UPDATE SET outcome = excluded.outcome, detail = excluded.detail, updated_at = excluded.updated_at),
       g AS (INSERT INTO lagging_backends (feature, backend, since) SELECT $2, b, $4 FROM s, unnest($13::text[]) AS b ON CONFLICT DO NOTHING RETURNING feature, backend),
       n AS (SELECT pg_notify('${LAGGING_CHANNEL}', feature || ' ' || backend) FROM g)
       SELECT (SELECT count(*) FROM s)::int AS found, (SELECT count(*) FROM n)::int AS told`,
      values: [
        id,
        success.feature,
        success.answerStatus ?? null,
        this.now(),
        success.ledger.map((e) => e.key),
        success.ledger.map((e) => e.op),
        success.ledger.map((e) => JSON.stringify(e.request)),
        applied.map(([n]) => n),
        applied.map(([, b]) => b),
        results.map(([b]) => b),
        results.map(([, r]) => r.outcome),
        results.map(([, r]) => r.detail ?? null),
        [...new Set(success.lagging)],
      ],
    });
    if (rows[0]!.found === 0) throw unknownSaga(id);
  }

  async recordResult(id: number, backend: string, result: BackendResult): Promise<void> {
    const r = await this.pool.query({
      name: 'pp-saga-result',
      text: `WITH s AS (UPDATE sagas SET updated_at = $5 WHERE id = $1 RETURNING id)
       INSERT INTO saga_results (saga_id, backend, outcome, detail, updated_at) SELECT s.id, $2, $3, $4, $5 FROM s
       ON CONFLICT (saga_id, backend) DO UPDATE SET outcome = excluded.outcome, detail = excluded.detail, updated_at = excluded.updated_at`,
      values: [id, backend, result.outcome, result.detail ?? null, this.now()],
    });
    if (r.rowCount === 0) throw unknownSaga(id);
  }

  async setSagaStatus(id: number, status: SagaStatus, answerStatus?: number): Promise<void> {
    const r = await this.pool.query({
      name: 'pp-saga-status',
      text: 'UPDATE sagas SET status = $1, answer_status = COALESCE($2, answer_status), updated_at = $3 WHERE id = $4',
      values: [status, answerStatus ?? null, this.now(), id],
    });
    if (r.rowCount === 0) throw unknownSaga(id);
  }

  async scheduleRetry(id: number, nextAttemptAt: number, error: string): Promise<void> {
    const r = await this.pool.query('UPDATE sagas SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2, updated_at = $3 WHERE id = $4', [
      nextAttemptAt,
      error,
      this.now(),
      id,
    ]);
    if (r.rowCount === 0) throw unknownSaga(id);
  }

  async getSaga(id: number): Promise<SagaRecord | undefined> {
    // One statement: the saga and its results from one snapshot.
    const { rows } = await this.pool.query<SagaRow & { results: ResultRow[] | null }>(
      `SELECT ${SAGA_COLUMNS},
         (SELECT json_agg(json_build_object('saga_id', r.saga_id, 'backend', r.backend, 'outcome', r.outcome, 'detail', r.detail))
            FROM saga_results r WHERE r.saga_id = s.id) AS results
       FROM sagas s WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    return row && toSaga(row, row.results ?? []);
  }

  async sagaCounts(): Promise<{ feature: string; status: SagaStatus; count: number }[]> {
    const { rows } = await this.pool.query<{ feature: string; status: SagaStatus; n: number }>('SELECT feature, status, COUNT(*)::int AS n FROM sagas GROUP BY feature, status');
    return rows.map((r) => ({ feature: r.feature, status: r.status, count: r.n }));
  }

  unfinishedSagas(): Promise<SagaRecord[]> {
    return this.sagasWhere(`status IN ${UNFINISHED}`, []);
  }

  sagasToRecover(): Promise<SagaRecord[]> {
    return this.claim(true);
  }

  claimOrphanedSagas(): Promise<SagaRecord[]> {
    return this.claim(false);
  }

  /**
   * Makes this instance the owner of the unfinished sagas whose owner is gone: no owner, or an
   * owner without a live lease (by the database's clock). SKIP LOCKED: of two instances
   * claiming at once each saga goes to one; a row the other has claimed meanwhile is read again
   * and then has a live owner.
   */
  private async claim(includeOwn: boolean): Promise<SagaRecord[]> {
    const { rows } = await this.pool.query<{ id: number }>(
      `WITH orphaned AS (
         SELECT s.id FROM sagas s
          WHERE s.status IN ${UNFINISHED}
            AND (s.owner IS NULL
                 OR (s.owner = $1 AND $2::boolean)
                 OR (s.owner <> $1 AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = s.owner AND i.lease_until > ${DB_NOW_MS})))
          FOR UPDATE SKIP LOCKED)
       UPDATE sagas SET owner = $1 FROM orphaned WHERE sagas.id = orphaned.id RETURNING sagas.id`,
      [this.instanceId, includeOwn],
    );
    if (rows.length === 0) return [];
    return this.sagasWhere('id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
  }

  private async sagasWhere(where: string, params: unknown[]): Promise<SagaRecord[]> {
    const { rows } = await this.pool.query<SagaRow & { results: ResultRow[] | null }>(
      `SELECT ${SAGA_COLUMNS},
         (SELECT json_agg(json_build_object('saga_id', r.saga_id, 'backend', r.backend, 'outcome', r.outcome, 'detail', r.detail))
            FROM saga_results r WHERE r.saga_id = s.id) AS results
       FROM sagas s WHERE ${where} ORDER BY id`,
      params,
    );
    return rows.map((row) => toSaga(row, row.results ?? []));
  }

  async pruneSagas(olderThan: number, limit?: number): Promise<number> {
    // The results go with their saga (ON DELETE CASCADE). LIMIT NULL: no limit.
    const r = await this.pool.query(
      `DELETE FROM sagas WHERE id IN (SELECT id FROM sagas WHERE status IN ${FINISHED} AND updated_at < $1 ORDER BY updated_at LIMIT $2)`,
      [olderThan, limit ?? null],
    );
    return r.rowCount ?? 0;
  }

  // --- desired-state ledger ---

  async putDesired(entry: { feature: string; key: string; op: 'put' | 'delete'; request: StoredRequest }): Promise<number> {
    // The row lock on the sequence lasts until the statement commits: versions become visible in order.
    const { rows } = await this.pool.query<{ version: number }>(
      `WITH v AS (UPDATE ledger_sequence SET version = version + 1 WHERE id = 1 RETURNING version)
       INSERT INTO ledger (feature, key, op, request, version, updated_at) SELECT $1, $2, $3, $4, v.version, $5 FROM v
       ON CONFLICT (feature, key) DO UPDATE SET op = excluded.op, request = excluded.request, version = excluded.version, updated_at = excluded.updated_at
       RETURNING version`,
      [entry.feature, entry.key, entry.op, JSON.stringify(entry.request), this.now()],
    );
    return rows[0]!.version;
  }

  async getDesired(feature: string, key: string): Promise<LedgerEntry | undefined> {
    const { rows } = await this.pool.query<LedgerRow>(`SELECT ${LEDGER_COLUMNS} FROM ledger WHERE feature = $1 AND key = $2`, [feature, key]);
    return rows[0] && toEntry(rows[0]);
  }

  async ledger(feature: string): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query<LedgerRow>(`SELECT ${LEDGER_COLUMNS} FROM ledger WHERE feature = $1 ORDER BY version`, [feature]);
    return rows.map(toEntry);
  }

  async markApplied(feature: string, key: string, backend: string, version: number): Promise<void> {
    // The WHERE on DO UPDATE keeps a late, older acknowledgement from moving the version back.
    await this.pool.query(
      `INSERT INTO ledger_applied (feature, key, backend, version) VALUES ($1, $2, $3, $4)
       ON CONFLICT (feature, key, backend) DO UPDATE SET version = excluded.version WHERE excluded.version > ledger_applied.version`,
      [feature, key, backend, version],
    );
  }

  async appliedVersion(feature: string, key: string, backend: string): Promise<number> {
    const { rows } = await this.pool.query<{ version: number }>('SELECT version FROM ledger_applied WHERE feature = $1 AND key = $2 AND backend = $3', [
      feature,
      key,
      backend,
    ]);
    return rows[0]?.version ?? 0;
  }

  async backlog(feature: string, backend: string): Promise<LedgerEntry[]> {
    const { rows } = await this.pool.query<LedgerRow>(
      `SELECT l.feature, l.key, l.op, l.request, l.version, l.updated_at FROM ledger l
       LEFT JOIN ledger_applied a ON a.feature = l.feature AND a.key = l.key AND a.backend = $1
       WHERE l.feature = $2 AND l.version > COALESCE(a.version, 0) ORDER BY l.version`,
      [backend, feature],
    );
    return rows.map(toEntry);
  }

  async backlogSize(feature: string, backend: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT COUNT(*)::int AS n FROM ledger l
       LEFT JOIN ledger_applied a ON a.feature = l.feature AND a.key = l.key AND a.backend = $1
       WHERE l.feature = $2 AND l.version > COALESCE(a.version, 0)`,
      [backend, feature],
    );
    return rows[0]!.n;
  }

  async forgetApplied(feature: string, backend: string): Promise<number> {
    const r = await this.pool.query('DELETE FROM ledger_applied WHERE feature = $1 AND backend = $2', [feature, backend]);
    return r.rowCount ?? 0;
  }

  /** With no backends listed nothing is pruned (as on SQLite: keeping a tombstone is never wrong). */
  async pruneTombstones(feature: string, backends: string[]): Promise<number> {
    if (backends.length === 0) return 0;
    return inTransaction(this.pool, async (c) => {
      // A tombstone goes when every listed backend holds at least its version; its applied rows with it.
      const { rows } = await c.query<{ key: string }>(
        `DELETE FROM ledger l WHERE l.feature = $1 AND l.op = 'delete'
           AND (SELECT COUNT(*) FROM ledger_applied a
                 WHERE a.feature = l.feature AND a.key = l.key AND a.backend = ANY($2::text[]) AND a.version >= l.version) = $3
         RETURNING l.key`,
        [feature, [...new Set(backends)], new Set(backends).size],
      );
      if (rows.length > 0) await c.query('DELETE FROM ledger_applied WHERE feature = $1 AND key = ANY($2::text[])', [feature, rows.map((r) => r.key)]);
      return rows.length;
    });
  }

  // --- lagging backends ---

  async laggingBackends(): Promise<LaggingMark[]> {
    const { rows } = await this.pool.query<LaggingMark>('SELECT feature, backend, since FROM lagging_backends ORDER BY feature, backend');
    return rows;
  }

  async markLagging(feature: string, backend: string): Promise<void> {
    // One statement: the others hear of it once it is committed, and only when it is new.
    await this.pool.query(
      `WITH added AS (INSERT INTO lagging_backends (feature, backend, since) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING feature, backend)
       SELECT pg_notify('${LAGGING_CHANNEL}', feature || ' ' || backend) FROM added`,
      [feature, backend, this.now()],
    );
  }

  async clearLagging(feature: string, backend: string): Promise<boolean> {
    // One statement, one snapshot: a write whose ledger entry commits after it marks the backend
    // again; one that committed before is in the backlog read here, and the mark stays.
    const { rows } = await this.pool.query<{ behind: boolean; told: number }>(
      `WITH backlog AS (SELECT EXISTS (${BACKLOG_OF}) AS behind),
            gone AS (DELETE FROM lagging_backends WHERE feature = $1 AND backend = $2 AND NOT (SELECT behind FROM backlog) RETURNING feature, backend),
            told AS (SELECT pg_notify('${LAGGING_CHANNEL}', feature || ' ' || backend) FROM gone)
       SELECT (SELECT behind FROM backlog) AS behind, (SELECT COUNT(*)::int FROM told) AS told`,
      [feature, backend],
    );
    return !rows[0]!.behind;
  }

  watchLagging(onChange: (change?: string) => void, onProblem: (message: string) => void): { stop(): Promise<void> } {
    return new ChannelListener(dedicatedConnection(this.pool, 'lagging marks'), LAGGING_CHANNEL, { onNotify: onChange, onConnected: () => onChange(), onProblem, label: 'notifications' }).start();
  }

  /** Idempotent, as the SQLite driver's. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // The claims' connection is the store's own, whoever owns the pools.
    await Promise.all([this.claims.close(), ...(this.ownsPool ? [this.pool.end(), this.lockPool?.end()] : [])]);
  }
}

/** Settings for a connection of its own (a listener, session locks) to the pool's database. */
export function dedicatedConnection(pool: pg.Pool, purpose: string): pg.ClientConfig {
  return { connectionString: pool.options.connectionString, keepAlive: true, application_name: `proxy-proxy ${purpose}` };
}

/** A URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgresql://…';
  }
}
