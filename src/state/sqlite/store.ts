// The StateStore on one SQLite file. Statements are prepared once; everything that belongs
// together runs in one IMMEDIATE transaction (the write lock is taken at BEGIN, so a peer
// process holding it makes us wait for busy_timeout instead of failing on lock upgrade).
import type Database from 'better-sqlite3';
import type { MigrateResult } from './migrate.js';
import { openConnection, type ConnectionOptions } from './connection.js';
import { SqliteWriter } from './writer.js';
import { LocalClaims } from '../local-claims.js';
import type {
  BackendResult,
  LaggingMark,
  LedgerEntry,
  SagaBegin,
  SagaRecord,
  SagaStatus,
  SagaSuccess,
  StateStore,
  StoredRequest,
} from '../store.js';
import { FINISHED, LEDGER_COLUMNS, SAGA_COLUMNS, UNFINISHED, toEntry, toSaga, unknownSaga, type LedgerRow, type ResultRow, type SagaRow } from '../state-rows.js';

export interface SqliteStoreOptions extends ConnectionOptions {
  /** Clock for created_at/updated_at (epoch ms); tests pass their own. */
  now?: () => number;
}


/** The owner of every saga in a state file: one file has one instance. */
export const LOCAL_OWNER = 'local';

function prepareStatements(db: Database.Database) {
  return {
    insertSaga: db.prepare<[string, string, string, string, string, number, number], { id: number }>(
      `INSERT INTO sagas (feature, route, request, targets, snapshots, status, created_at, updated_at, owner)
       VALUES (?, ?, ?, ?, ?, 'open', ?, ?, '${LOCAL_OWNER}') RETURNING id`,
    ),
    touchSaga: db.prepare<[number, number]>('UPDATE sagas SET updated_at = ? WHERE id = ?'),
    upsertResult: db.prepare<[number, string, string, string | null, number]>(
      `INSERT INTO saga_results (saga_id, backend, outcome, detail, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (saga_id, backend) DO UPDATE
       SET outcome = excluded.outcome, detail = excluded.detail, updated_at = excluded.updated_at`,
    ),
    setStatus: db.prepare<[string, number | null, number, number]>(
      'UPDATE sagas SET status = ?, answer_status = COALESCE(?, answer_status), updated_at = ? WHERE id = ?',
    ),
    scheduleRetry: db.prepare<[number, string, number, number]>(
      'UPDATE sagas SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ?',
    ),
    getSaga: db.prepare<[number], SagaRow>(`SELECT ${SAGA_COLUMNS} FROM sagas WHERE id = ?`),
    sagaResults: db.prepare<[number], ResultRow>('SELECT saga_id, backend, outcome, detail FROM saga_results WHERE saga_id = ?'),
    sagaCounts: db.prepare<[], { feature: string; status: string; n: number }>('SELECT feature, status, COUNT(*) AS n FROM sagas GROUP BY feature, status'),
    unfinished: db.prepare<[], SagaRow>(`SELECT ${SAGA_COLUMNS} FROM sagas WHERE status IN ${UNFINISHED} ORDER BY id`),
    unfinishedResults: db.prepare<[], ResultRow>(
      `SELECT r.saga_id, r.backend, r.outcome, r.detail FROM saga_results r
       JOIN sagas s ON s.id = r.saga_id WHERE s.status IN ${UNFINISHED}`,
    ),
    pruneSagas: db.prepare<[number, number]>(
      `DELETE FROM sagas WHERE id IN (SELECT id FROM sagas WHERE status IN ${FINISHED} AND updated_at < ? ORDER BY updated_at LIMIT ?)`,
    ),

    nextVersion: db.prepare<[], { version: number }>('UPDATE ledger_sequence SET version = version + 1 WHERE id = 1 RETURNING version'),
    upsertDesired: db.prepare<[string, string, string, string, number, number]>(
      `INSERT INTO ledger (feature, key, op, request, version, updated_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (feature, key) DO UPDATE
       SET op = excluded.op, request = excluded.request, version = excluded.version, updated_at = excluded.updated_at`,
    ),
    getDesired: db.prepare<[string, string], LedgerRow>(`SELECT ${LEDGER_COLUMNS} FROM ledger WHERE feature = ? AND key = ?`),
    ledger: db.prepare<[string], LedgerRow>(`SELECT ${LEDGER_COLUMNS} FROM ledger WHERE feature = ? ORDER BY version`),
    // The WHERE on DO UPDATE keeps a late, older acknowledgement from moving the version back.
    markApplied: db.prepare<[string, string, string, number]>(
      `INSERT INTO ledger_applied (feature, key, backend, version) VALUES (?, ?, ?, ?)
       ON CONFLICT (feature, key, backend) DO UPDATE
       SET version = excluded.version WHERE excluded.version > ledger_applied.version`,
    ),
    appliedVersion: db.prepare<[string, string, string], { version: number }>(
      'SELECT version FROM ledger_applied WHERE feature = ? AND key = ? AND backend = ?',
    ),
    backlog: db.prepare<[string, string], LedgerRow>(
      `SELECT l.feature, l.key, l.op, l.request, l.version, l.updated_at FROM ledger l
       LEFT JOIN ledger_applied a ON a.feature = l.feature AND a.key = l.key AND a.backend = ?
       WHERE l.feature = ? AND l.version > COALESCE(a.version, 0) ORDER BY l.version`,
    ),
    backlogSize: db.prepare<[string, string], { n: number }>(
      `SELECT COUNT(*) AS n FROM ledger l
       LEFT JOIN ledger_applied a ON a.feature = l.feature AND a.key = l.key AND a.backend = ?
       WHERE l.feature = ? AND l.version > COALESCE(a.version, 0)`,
    ),
    tombstones: db.prepare<[string], { key: string; version: number }>("SELECT key, version FROM ledger WHERE feature = ? AND op = 'delete'"),
    deleteTombstone: db.prepare<[string, string, number]>("DELETE FROM ledger WHERE feature = ? AND key = ? AND version = ? AND op = 'delete'"),
    deleteApplied: db.prepare<[string, string]>('DELETE FROM ledger_applied WHERE feature = ? AND key = ?'),
    forgetApplied: db.prepare<[string, string]>('DELETE FROM ledger_applied WHERE feature = ? AND backend = ?'),

    lagging: db.prepare<[], LaggingMark>('SELECT feature, backend, since FROM lagging_backends ORDER BY feature, backend'),
    markLagging: db.prepare<[string, string, number]>('INSERT INTO lagging_backends (feature, backend, since) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
    unmarkLagging: db.prepare<[string, string]>('DELETE FROM lagging_backends WHERE feature = ? AND backend = ?'),
  };
}

export class SqliteStateStore implements StateStore {
  /** Schema version before and after this open (they differ when the file was upgraded). */
  readonly migrated: MigrateResult;
  /** One process owns the file: claims are kept in memory. */
  readonly claims = new LocalClaims();
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly sql: ReturnType<typeof prepareStatements>;
  private readonly writer: SqliteWriter;

  constructor(
    readonly file: string,
    options: SqliteStoreOptions = {},
  ) {
    const { db, migrated } = openConnection(file, options);
    this.db = db;
    this.migrated = migrated;
    this.now = options.now ?? Date.now;
    try {
      this.sql = prepareStatements(db);
      this.writer = new SqliteWriter(db, (options.synchronous ?? 'barrier') === 'barrier');
    } catch (err) {
      db.close();
      throw err;
    }
  }

  // --- saga log ---

  async beginSaga(input: SagaBegin): Promise<number> {
    return this.barrier(() => {
      const t = this.now();
      const snapshots = JSON.stringify(input.snapshots ?? {});
      const { id } = this.sql.insertSaga.get(input.feature, input.route, JSON.stringify(input.request), JSON.stringify(input.targets), snapshots, t, t)!;
      // 'pending' unless known: after a crash that reads "may or may not have been applied".
      for (const backend of new Set(input.targets)) {
        const known = input.results?.[backend];
        this.sql.upsertResult.run(id, backend, known?.outcome ?? 'pending', known?.detail ?? null, t);
      }
      return id;
    });
  }

  async completeSaga(id: number, success: SagaSuccess): Promise<void> {
    this.barrier(() => {
      const t = this.now();
      if (this.sql.setStatus.run('completed', success.answerStatus ?? null, t, id).changes === 0) throw unknownSaga(id);
      for (const [backend, r] of Object.entries(success.results)) this.sql.upsertResult.run(id, backend, r.outcome, r.detail ?? null, t);
      for (const e of success.ledger) {
        const { version } = this.sql.nextVersion.get()!;
        this.sql.upsertDesired.run(success.feature, e.key, e.op, JSON.stringify(e.request), version, t);
        for (const b of e.appliedOn) this.sql.markApplied.run(success.feature, e.key, b, version);
      }
      for (const b of success.lagging) this.sql.markLagging.run(success.feature, b, t);
    });
  }

  async recordResult(id: number, backend: string, result: BackendResult): Promise<void> {
    this.write(() => {
      const t = this.now();
      if (this.sql.touchSaga.run(t, id).changes === 0) throw unknownSaga(id);
      this.sql.upsertResult.run(id, backend, result.outcome, result.detail ?? null, t);
    });
  }

  async setSagaStatus(id: number, status: SagaStatus, answerStatus?: number): Promise<void> {
    this.barrier(() => {
      if (this.sql.setStatus.run(status, answerStatus ?? null, this.now(), id).changes === 0) throw unknownSaga(id);
    });
  }

  async scheduleRetry(id: number, nextAttemptAt: number, error: string): Promise<void> {
    if (this.sql.scheduleRetry.run(nextAttemptAt, error, this.now(), id).changes === 0) throw unknownSaga(id);
  }

  async getSaga(id: number): Promise<SagaRecord | undefined> {
    return this.read(() => {
      const row = this.sql.getSaga.get(id);
      return row && toSaga(row, this.sql.sagaResults.all(id));
    });
  }

  async sagaCounts(): Promise<{ feature: string; status: SagaStatus; count: number }[]> {
    return this.sql.sagaCounts.all().map((r) => ({ feature: r.feature, status: r.status as SagaStatus, count: r.n }));
  }

  async unfinishedSagas(): Promise<SagaRecord[]> {
    return this.read(() => {
      const rows = this.sql.unfinished.all();
      const results = new Map<number, ResultRow[]>();
      for (const r of this.sql.unfinishedResults.all()) {
        let list = results.get(r.saga_id);
        if (!list) results.set(r.saga_id, (list = []));
        list.push(r);
      }
      return rows.map((row) => toSaga(row, results.get(row.id) ?? []));
    });
  }

  /** The process that left them open is gone: one state file has one instance. */
  sagasToRecover(): Promise<SagaRecord[]> {
    return this.unfinishedSagas();
  }

  /** No other instance shares the file. */
  async claimOrphanedSagas(): Promise<SagaRecord[]> {
    return [];
  }

  async pruneSagas(olderThan: number, limit = -1): Promise<number> {
    // LIMIT -1: no limit. The results go with their saga (ON DELETE CASCADE).
    return this.write(() => this.sql.pruneSagas.run(olderThan, limit).changes);
  }

  // --- desired-state ledger ---

  async putDesired(entry: { feature: string; key: string; op: 'put' | 'delete'; request: StoredRequest }): Promise<number> {
    return this.barrier(() => {
      const { version } = this.sql.nextVersion.get()!;
      this.sql.upsertDesired.run(entry.feature, entry.key, entry.op, JSON.stringify(entry.request), version, this.now());
      return version;
    });
  }

  async getDesired(feature: string, key: string): Promise<LedgerEntry | undefined> {
    const row = this.sql.getDesired.get(feature, key);
    return row && toEntry(row);
  }

  async ledger(feature: string): Promise<LedgerEntry[]> {
    return this.sql.ledger.all(feature).map(toEntry);
  }

  async markApplied(feature: string, key: string, backend: string, version: number): Promise<void> {
    this.sql.markApplied.run(feature, key, backend, version);
  }

  async appliedVersion(feature: string, key: string, backend: string): Promise<number> {
    return this.sql.appliedVersion.get(feature, key, backend)?.version ?? 0;
  }

  async backlog(feature: string, backend: string): Promise<LedgerEntry[]> {
    return this.sql.backlog.all(backend, feature).map(toEntry);
  }

  async backlogSize(feature: string, backend: string): Promise<number> {
    return this.sql.backlogSize.get(backend, feature)!.n;
  }

  async forgetApplied(feature: string, backend: string): Promise<number> {
    return this.write(() => this.sql.forgetApplied.run(feature, backend).changes);
  }

  /**
   * With no backends listed nothing is pruned: an empty list is far more likely a caller's
   * mistake than a feature with no backends, and keeping a tombstone is never wrong.
   */
  async pruneTombstones(feature: string, backends: string[]): Promise<number> {
    if (backends.length === 0) return 0;
    return this.write(() => {
      let pruned = 0;
      for (const t of this.sql.tombstones.all(feature)) {
        const everywhere = backends.every((b) => (this.sql.appliedVersion.get(feature, t.key, b)?.version ?? 0) >= t.version);
        if (!everywhere) continue;
        if (this.sql.deleteTombstone.run(feature, t.key, t.version).changes === 0) continue;
        this.sql.deleteApplied.run(feature, t.key);
        pruned++;
      }
      return pruned;
    });
  }

  // --- lagging backends ---

  async laggingBackends(): Promise<LaggingMark[]> {
    return this.sql.lagging.all();
  }

  async markLagging(feature: string, backend: string): Promise<void> {
    this.write(() => this.sql.markLagging.run(feature, backend, this.now()));
  }

  async clearLagging(feature: string, backend: string): Promise<boolean> {
    return this.write(() => {
      if (this.sql.backlogSize.get(backend, feature)!.n > 0) return false;
      this.sql.unmarkLagging.run(feature, backend);
      return true;
    });
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private barrier<T>(fn: () => T): T {
    return this.writer.barrier(fn);
  }

  private write<T>(fn: () => T): T {
    return this.writer.write(fn);
  }

  /** A deferred transaction: several SELECTs see one snapshot even while a peer writes. */
  private read<T>(fn: () => T): T {
    return this.writer.read(fn);
  }
}
