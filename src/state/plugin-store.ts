// Durable state of the plugin modules: which backend owns each forwarded dynflow task, and the
// OpenSCAP reports hosts uploaded (spooled until Foreman has them, then kept for Foreman's reads).
// Async, so that a driver over the network (PostgreSQL) fits the same interface.

/** One ARF report as it was uploaded, and where its trip to Foreman stands. */
export interface ArfReport {
  /** Local id of the upload (never shown to Foreman). */
  id: number;
  /** The uploading host: its client certificate's CN. */
  cname: string;
  policyId: string;
  /** Upload time, epoch seconds (the `date` of Foreman's path and of every later read). */
  date: number;
  /** SHA-256 hex of the compressed body, as Foreman stores it. */
  digest: string;
  /** The bzip2 body exactly as the host sent it. */
  body: Buffer;
  /**
   * queued: not sent yet (or sent and surely not received); sending: a POST may be under way or
   * may have reached Foreman; sent: Foreman answered with `foremanId`; rejected: Foreman refused it
   * (4xx), final; unknown: a process stopped during a POST, so whether Foreman has it is unknown.
   */
  state: 'queued' | 'sending' | 'sent' | 'rejected' | 'unknown';
  foremanId: string | null;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
}

export interface PluginStore {
  /** Records (or moves, while a launch is retried elsewhere) task ids to the backend that owns them. */
  recordTaskOwners(taskIds: string[], backend: string, operation: string, now: number): Promise<void>;
  /** The owning backend of each id that has one. */
  taskOwners(taskIds: string[]): Promise<Map<string, string>>;
  /** Forwarded tasks per backend (status page). */
  countTasksByBackend(): Promise<Record<string, number>>;
  /** Forgets task mappings recorded before `before`, at most `limit` of them (default: all). */
  pruneTaskOwners(before: number, limit?: number): Promise<number>;

  /** Spools one upload durably; the local id. */
  addArfReport(r: Pick<ArfReport, 'cname' | 'policyId' | 'date' | 'digest' | 'body'>, now: number): Promise<number>;
  arfReport(id: number): Promise<ArfReport | undefined>;
  /** The stored report Foreman names by its own id, host, date and digest. */
  findArfReport(foremanId: string, cname: string, date: number, digest: string): Promise<ArfReport | undefined>;
  /** Reports due for a POST to Foreman. */
  dueArfReports(now: number, limit: number): Promise<ArfReport[]>;
  /** queued → sending, only if it is still queued (one sender per report, also across instances). */
  claimArfReport(id: number, now: number): Promise<boolean>;
  settleArfReport(
    id: number,
    outcome: { state: 'sent'; foremanId: string } | { state: 'rejected' | 'unknown'; error: string } | { state: 'queued'; error: string; nextAttemptAt: number },
  ): Promise<void>;
  /** After a restart: reports left `sending` by a stopped process become `unknown`; how many. */
  orphanedArfSends(): Promise<number>;
  deleteArfReport(id: number): Promise<boolean>;
  /**
   * Removes reports uploaded before `before` whose trip to Foreman is over (sent, rejected,
   * unknown), at most `limit` of them (default: all); queued and sending ones stay.
   */
  pruneArfReports(before: number, limit?: number): Promise<number>;
  countArfReports(): Promise<Record<ArfReport['state'], number>>;
  close(): Promise<void>;
}
