// The PluginStore on PostgreSQL (tables: migration 3 of postgresql/migrations.ts), shared by
// every instance of a cluster: a task launched through
// one instance is polled through any other, and a report one instance took is read or deleted
// through another. A report's POST to Foreman is claimed by one guarded UPDATE (queued →
// sending), so two instances never post the same report.
import type pg from 'pg';
import type { ArfReport, PluginStore } from '../plugin-store.js';

interface ArfRow {
  id: string | number;
  cname: string;
  policy_id: string;
  date: string | number;
  digest: string;
  body: Buffer;
  state: ArfReport['state'];
  foreman_id: string | null;
  attempts: string | number;
  next_attempt_at: string | number;
  last_error: string | null;
  created_at: string | number;
}

const num = (v: string | number): number => (typeof v === 'number' ? v : Number(v));

function toReport(r: ArfRow): ArfReport {
  return {
    id: num(r.id),
    cname: r.cname,
    policyId: r.policy_id,
    date: num(r.date),
    digest: r.digest,
    body: r.body,
    state: r.state,
    foremanId: r.foreman_id,
    attempts: num(r.attempts),
    nextAttemptAt: num(r.next_attempt_at),
    lastError: r.last_error,
    createdAt: num(r.created_at),
  };
}

export interface PgPluginStoreOptions {
  ownsPool?: boolean;
  /**
   * A `sending` report claimed longer ago than this belongs to an instance that stopped
   * mid-POST (no POST outlives Foreman's timeout): it becomes `unknown`.
   */
  abandonedAfterMs?: number;
}

export class PgPluginStore implements PluginStore {
  private readonly abandonedAfterMs: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: PgPluginStoreOptions = {},
  ) {
    this.abandonedAfterMs = options.abandonedAfterMs ?? 180_000;
  }

  async recordTaskOwners(taskIds: string[], backend: string, operation: string, now: number): Promise<void> {
    if (taskIds.length === 0) return;
    await this.pool.query(
      `INSERT INTO dynflow_task_owners (task_id, backend, operation, created_at)
       SELECT id, $2, $3, $4 FROM unnest($1::text[]) AS id
       ON CONFLICT (task_id) DO UPDATE SET backend = excluded.backend, operation = excluded.operation`,
      [taskIds, backend, operation, now],
    );
  }

  async taskOwners(taskIds: string[]): Promise<Map<string, string>> {
    const r = await this.pool.query<{ task_id: string; backend: string }>('SELECT task_id, backend FROM dynflow_task_owners WHERE task_id = ANY($1::text[])', [taskIds]);
    return new Map(r.rows.map((row) => [row.task_id, row.backend]));
  }

  async countTasksByBackend(): Promise<Record<string, number>> {
    const r = await this.pool.query<{ backend: string; n: string }>('SELECT backend, COUNT(*) AS n FROM dynflow_task_owners GROUP BY backend');
    return Object.fromEntries(r.rows.map((row) => [row.backend, num(row.n)]));
  }

  async pruneTaskOwners(before: number, limit?: number): Promise<number> {
    const r = await this.pool.query(
      'DELETE FROM dynflow_task_owners WHERE task_id IN (SELECT task_id FROM dynflow_task_owners WHERE created_at < $1 ORDER BY created_at LIMIT $2)',
      [before, limit ?? null],
    );
    return r.rowCount ?? 0;
  }

  async addArfReport(r: Pick<ArfReport, 'cname' | 'policyId' | 'date' | 'digest' | 'body'>, now: number): Promise<number> {
    const res = await this.pool.query<{ id: string }>(
      `INSERT INTO arf_reports (cname, policy_id, date, digest, body, state, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, $5, 'queued', $6, $6) RETURNING id`,
      [r.cname, r.policyId, r.date, r.digest, r.body, now],
    );
    return num(res.rows[0]!.id);
  }

  async arfReport(id: number): Promise<ArfReport | undefined> {
    const r = await this.pool.query<ArfRow>('SELECT * FROM arf_reports WHERE id = $1', [id]);
    return r.rows[0] && toReport(r.rows[0]);
  }

  async findArfReport(foremanId: string, cname: string, date: number, digest: string): Promise<ArfReport | undefined> {
    const r = await this.pool.query<ArfRow>(
      `SELECT * FROM arf_reports WHERE foreman_id = $1 AND cname = $2 AND date = $3 AND digest = $4 AND state = 'sent'`,
      [foremanId, cname, date, digest],
    );
    return r.rows[0] && toReport(r.rows[0]);
  }

  async dueArfReports(now: number, limit: number): Promise<ArfReport[]> {
    const r = await this.pool.query<ArfRow>(`SELECT * FROM arf_reports WHERE state = 'queued' AND next_attempt_at <= $1 ORDER BY id LIMIT $2`, [now, limit]);
    return r.rows.map(toReport);
  }

  async claimArfReport(id: number, now: number): Promise<boolean> {
    // While sending, next_attempt_at holds the claim time (nothing else reads it then).
    const r = await this.pool.query(`UPDATE arf_reports SET state = 'sending', attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1 AND state = 'queued'`, [id, now]);
    return r.rowCount === 1;
  }

  async settleArfReport(
    id: number,
    outcome: { state: 'sent'; foremanId: string } | { state: 'rejected' | 'unknown'; error: string } | { state: 'queued'; error: string; nextAttemptAt: number },
  ): Promise<void> {
    if (outcome.state === 'sent') {
      await this.pool.query(`UPDATE arf_reports SET state = 'sent', foreman_id = $2, last_error = NULL WHERE id = $1`, [id, outcome.foremanId]);
    } else if (outcome.state === 'queued') {
      await this.pool.query(`UPDATE arf_reports SET state = 'queued', last_error = $2, next_attempt_at = $3 WHERE id = $1`, [id, outcome.error, outcome.nextAttemptAt]);
    } else {
      await this.pool.query(`UPDATE arf_reports SET state = $2, last_error = $3 WHERE id = $1`, [id, outcome.state, outcome.error]);
    }
  }

  async orphanedArfSends(): Promise<number> {
    const r = await this.pool.query(
      `UPDATE arf_reports SET state = 'unknown', last_error = 'an instance stopped while posting it to Foreman'
       WHERE state = 'sending' AND next_attempt_at < $1`,
      [Date.now() - this.abandonedAfterMs],
    );
    return r.rowCount ?? 0;
  }

  async deleteArfReport(id: number): Promise<boolean> {
    return (await this.pool.query('DELETE FROM arf_reports WHERE id = $1', [id])).rowCount === 1;
  }

  async pruneArfReports(before: number, limit?: number): Promise<number> {
    const r = await this.pool.query(
      `DELETE FROM arf_reports WHERE id IN (SELECT id FROM arf_reports WHERE created_at < $1 AND state IN ('sent', 'rejected', 'unknown') ORDER BY created_at LIMIT $2)`,
      [before, limit ?? null],
    );
    return r.rowCount ?? 0;
  }

  async countArfReports(): Promise<Record<ArfReport['state'], number>> {
    const out: Record<ArfReport['state'], number> = { queued: 0, sending: 0, sent: 0, rejected: 0, unknown: 0 };
    const r = await this.pool.query<{ state: ArfReport['state']; n: string }>('SELECT state, COUNT(*) AS n FROM arf_reports GROUP BY state');
    for (const row of r.rows) out[row.state] = num(row.n);
    return out;
  }

  async close(): Promise<void> {
    if (this.options.ownsPool) await this.pool.end();
  }
}
