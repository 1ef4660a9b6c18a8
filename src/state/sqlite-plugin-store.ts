// The PluginStore on the SQLite state file, with its own connection (as the job store): task
// owners are written before Foreman hears of a task, reports before the host hears "accepted",
// so both writes are barriers.
import type Database from 'better-sqlite3';
import type { ArfReport, PluginStore } from './plugin-store.js';
import { openConnection, type ConnectionOptions } from './sqlite/connection.js';
import { SqliteWriter } from './sqlite/writer.js';

interface ArfRow {
  id: number;
  cname: string;
  policy_id: string;
  date: number;
  digest: string;
  body: Buffer;
  state: ArfReport['state'];
  foreman_id: string | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
}

function toReport(r: ArfRow): ArfReport {
  return {
    id: r.id,
    cname: r.cname,
    policyId: r.policy_id,
    date: r.date,
    digest: r.digest,
    body: r.body,
    state: r.state,
    foremanId: r.foreman_id,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
  };
}

export class SqlitePluginStore implements PluginStore {
  private readonly db: Database.Database;
  private readonly writer: SqliteWriter;

  constructor(file: string, options: ConnectionOptions = {}) {
    this.db = openConnection(file, options).db;
    this.writer = new SqliteWriter(this.db, (options.synchronous ?? 'barrier') === 'barrier');
  }

  async recordTaskOwners(taskIds: string[], backend: string, operation: string, now: number): Promise<void> {
    if (taskIds.length === 0) return;
    const put = this.db.prepare<[string, string, string, number]>(
      `INSERT INTO dynflow_task_owners (task_id, backend, operation, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (task_id) DO UPDATE SET backend = excluded.backend, operation = excluded.operation`,
    );
    this.writer.barrier(() => {
      for (const id of taskIds) put.run(id, backend, operation, now);
    });
  }

  async taskOwners(taskIds: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const get = this.db.prepare<[string], { backend: string }>('SELECT backend FROM dynflow_task_owners WHERE task_id = ?');
    for (const id of taskIds) {
      const row = get.get(id);
      if (row) out.set(id, row.backend);
    }
    return out;
  }

  async countTasksByBackend(): Promise<Record<string, number>> {
    const rows = this.db.prepare<[], { backend: string; n: number }>('SELECT backend, COUNT(*) AS n FROM dynflow_task_owners GROUP BY backend').all();
    return Object.fromEntries(rows.map((r) => [r.backend, r.n]));
  }

  async pruneTaskOwners(before: number, limit = -1): Promise<number> {
    // LIMIT -1: no limit.
    return this.writer.write(
      () =>
        this.db
          .prepare<[number, number]>('DELETE FROM dynflow_task_owners WHERE task_id IN (SELECT task_id FROM dynflow_task_owners WHERE created_at < ? ORDER BY created_at LIMIT ?)')
          .run(before, limit).changes,
    );
  }

  async addArfReport(r: Pick<ArfReport, 'cname' | 'policyId' | 'date' | 'digest' | 'body'>, now: number): Promise<number> {
    return this.writer.barrier(
      () =>
        this.db
          .prepare<[string, string, number, string, Buffer, number, number]>(
            `INSERT INTO arf_reports (cname, policy_id, date, digest, body, state, next_attempt_at, created_at)
             VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)`,
          )
          .run(r.cname, r.policyId, r.date, r.digest, r.body, now, now).lastInsertRowid as number,
    );
  }

  async arfReport(id: number): Promise<ArfReport | undefined> {
    const row = this.db.prepare<[number], ArfRow>('SELECT * FROM arf_reports WHERE id = ?').get(id);
    return row && toReport(row);
  }

  async findArfReport(foremanId: string, cname: string, date: number, digest: string): Promise<ArfReport | undefined> {
    const row = this.db
      .prepare<[string, string, number, string], ArfRow>(
        `SELECT * FROM arf_reports WHERE foreman_id = ? AND cname = ? AND date = ? AND digest = ? AND state = 'sent'`,
      )
      .get(foremanId, cname, date, digest);
    return row && toReport(row);
  }

  async dueArfReports(now: number, limit: number): Promise<ArfReport[]> {
    return this.db
      .prepare<[number, number], ArfRow>(`SELECT * FROM arf_reports WHERE state = 'queued' AND next_attempt_at <= ? ORDER BY id LIMIT ?`)
      .all(now, limit)
      .map(toReport);
  }

  async claimArfReport(id: number, _now: number): Promise<boolean> {
    // A barrier: once Foreman may see the POST, a restart must not take this report for unsent.
    return this.writer.barrier(
      () => this.db.prepare<[number]>(`UPDATE arf_reports SET state = 'sending', attempts = attempts + 1 WHERE id = ? AND state = 'queued'`).run(id).changes === 1,
    );
  }

  async settleArfReport(
    id: number,
    outcome: { state: 'sent'; foremanId: string } | { state: 'rejected' | 'unknown'; error: string } | { state: 'queued'; error: string; nextAttemptAt: number },
  ): Promise<void> {
    this.writer.barrier(() => {
      if (outcome.state === 'sent') {
        this.db.prepare<[string, number]>(`UPDATE arf_reports SET state = 'sent', foreman_id = ?, last_error = NULL WHERE id = ?`).run(outcome.foremanId, id);
      } else if (outcome.state === 'queued') {
        this.db
          .prepare<[string, number, number]>(`UPDATE arf_reports SET state = 'queued', last_error = ?, next_attempt_at = ? WHERE id = ?`)
          .run(outcome.error, outcome.nextAttemptAt, id);
      } else {
        this.db.prepare<[string, string, number]>(`UPDATE arf_reports SET state = ?, last_error = ? WHERE id = ?`).run(outcome.state, outcome.error, id);
      }
    });
  }

  async orphanedArfSends(): Promise<number> {
    return this.writer.write(
      () =>
        this.db
          .prepare(`UPDATE arf_reports SET state = 'unknown', last_error = 'proxy-proxy stopped while posting it to Foreman' WHERE state = 'sending'`)
          .run().changes,
    );
  }

  async deleteArfReport(id: number): Promise<boolean> {
    return this.writer.write(() => this.db.prepare<[number]>('DELETE FROM arf_reports WHERE id = ?').run(id).changes === 1);
  }

  async pruneArfReports(before: number, limit = -1): Promise<number> {
    return this.writer.write(
      () =>
        this.db
          .prepare<[number, number]>(
            `DELETE FROM arf_reports WHERE id IN (SELECT id FROM arf_reports WHERE created_at < ? AND state IN ('sent', 'rejected', 'unknown') ORDER BY created_at LIMIT ?)`,
          )
          .run(before, limit).changes,
    );
  }

  async countArfReports(): Promise<Record<ArfReport['state'], number>> {
    const out: Record<ArfReport['state'], number> = { queued: 0, sending: 0, sent: 0, rejected: 0, unknown: 0 };
    for (const r of this.db.prepare<[], { state: ArfReport['state']; n: number }>('SELECT state, COUNT(*) AS n FROM arf_reports GROUP BY state').all()) out[r.state] = r.n;
    return out;
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
