// The one interface to durable state. Everything that must survive a crash goes through it:
// the saga log of replicated writes and the desired-state ledger of replicated features.
// One folder per driver implements it: sqlite/ (embedded, one instance) and postgresql/
// (several instances sharing state). Every method is asynchronous, as a database over the
// network is; open-store.ts picks the driver from the configuration.

/** A request as it is replayed to a backend: enough to send it again byte for byte. */
export interface StoredRequest {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** Raw query string without '?', '' when none. */
  query: string;
  /** Request body (UTF-8 form text for smart-proxy writes); '' when none. */
  body: string;
  /** The headers that matter to the backend (content-type, accept, x-request-id…). */
  headers: Record<string, string>;
}

/** A backend's answer kept as a snapshot. Body base64 so that any byte survives. */
export interface StoredAnswer {
  status: number;
  headers: Record<string, string>;
  bodyBase64: string;
}

export type SagaStatus =
  /** Recorded, backend calls may be in flight. */
  | 'open'
  /** Every target applied it and Foreman was (or will be) told success. */
  | 'completed'
  /** The write failed somewhere; undo is pending on some backends (retried with back-off). */
  | 'compensating'
  /** Undone everywhere it was applied. */
  | 'compensated';

export type BackendOutcome =
  /** Not yet answered. After a crash this means: may or may not have been applied. */
  | 'pending'
  /** 2xx */
  | 'applied'
  /** A definite error answer (4xx/5xx): not applied. */
  | 'rejected'
  /** Surely never reached the backend (refused, connect timeout, circuit open). */
  | 'not_sent'
  /** Sent, no answer (timeout, broken connection): may have been applied. */
  | 'unknown'
  /** Undo done on this backend. */
  | 'compensated'
  /** Not sent because the backend was down; the ledger catches it up later. */
  | 'deferred';

export interface BackendResult {
  outcome: BackendOutcome;
  /** HTTP status or transport error code. */
  detail?: string;
}

export interface SagaRecord {
  id: number;
  feature: string;
  /** Route id, e.g. 'tftp.create'. */
  route: string;
  request: StoredRequest;
  /** Backends the write was sent to. */
  targets: string[];
  /** Per target, its snapshot before the write (absent when the route has no snapshot read). */
  snapshots: Record<string, StoredAnswer>;
  results: Record<string, BackendResult>;
  status: SagaStatus;
  /** Status Foreman was answered with, when it was. */
  answerStatus: number | null;
  /** Compensation retries so far, when the next one is due, and why the last one failed. */
  attempts: number;
  nextAttemptAt: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

/** One intended value in the ledger: the request that puts a key in its desired state. */
export interface LedgerEntry {
  feature: string;
  /** Object key, e.g. 'pxelinux/00:11:22:33:44:55' or '192.0.2.0/52:54:00:aa:00:01'. */
  key: string;
  /** 'put': `request` creates/overwrites the object; 'delete': a tombstone, `request` deletes it. */
  op: 'put' | 'delete';
  request: StoredRequest;
  /** Monotonic over the whole ledger: orders writes, and marks what each backend has applied. */
  version: number;
  updatedAt: number;
}

/** A backend behind the ledger on a feature: it serves no reads of it until caught up. */
export interface LaggingMark {
  feature: string;
  backend: string;
  /** When it was marked (epoch ms, by the marking instance's clock). */
  since: number;
}

/**
 * Work one instance of a cluster does at a time (the catch-up of one backend, a chore): held
 * until released, or until the holder dies (PostgreSQL: a session advisory lock on its own
 * connection). Within one process too: a second hold of a held name fails.
 */
export interface ClusterClaims {
  /** Holds `name` unless it is held already (then undefined); returns the release. */
  tryHold(name: string): Promise<(() => Promise<void>) | undefined>;
}

/** Keys held across processes (the postgresql driver's advisory locks). */
export interface SharedKeyLocks {
  /** Waits until every key is held here (or `signal` fires); returns the release. */
  hold(keys: string[], signal?: AbortSignal): Promise<() => Promise<void>>;
}

/** How a saga begins: recorded before the first write is sent. */
export interface SagaBegin {
  feature: string;
  route: string;
  request: StoredRequest;
  targets: string[];
  /** The state each target held before the write (read before it began). */
  snapshots?: Record<string, StoredAnswer>;
  /** Outcomes known at the start (e.g. 'deferred'); every other target starts 'pending'. */
  results?: Record<string, BackendResult>;
}

/** A write that succeeded, recorded with its saga's completion in one transaction. */
export interface SagaSuccess {
  feature: string;
  answerStatus?: number;
  /** Outcomes noted while the write ran and not recorded yet. */
  results: Record<string, BackendResult>;
  /** The intended values, each with the targets known to hold it. */
  ledger: { key: string; op: 'put' | 'delete'; request: StoredRequest; appliedOn: string[] }[];
  /** Backends that missed it: marked lagging (after the ledger entries, in the same commit). */
  lagging: string[];
}

export interface StateStore {
  // --- saga log ---
  /** Recorded before the first write is sent (durable). Returns the saga id. */
  beginSaga(input: SagaBegin): Promise<number>;
  /**
   * The successful end of an open saga in one durable commit: its noted results, its ledger
   * entries and who holds them, the lagging marks it leaves, and status 'completed'. One commit
   * and (on a shared database) one round trip: it is on the answer's path.
   */
  completeSaga(id: number, success: SagaSuccess): Promise<void>;
  recordResult(id: number, backend: string, result: BackendResult): Promise<void>;
  setSagaStatus(id: number, status: SagaStatus, answerStatus?: number): Promise<void>;
  /** A failed compensation attempt: count it and schedule the next one. */
  scheduleRetry(id: number, nextAttemptAt: number, error: string): Promise<void>;
  getSaga(id: number): Promise<SagaRecord | undefined>;
  /** Sagas kept in the log, by feature and status (finished ones until pruned). */
  sagaCounts(): Promise<{ feature: string; status: SagaStatus; count: number }[]>;
  /** Sagas with status 'open' or 'compensating', oldest first. */
  unfinishedSagas(): Promise<SagaRecord[]>;
  /**
   * Unfinished sagas this instance settles at start-up, oldest first: on SQLite every one (one
   * instance per file); on PostgreSQL its own and those whose owner is gone (lease expired, or
   * no owner), claimed for this instance so that no other settles them too.
   */
  sagasToRecover(): Promise<SagaRecord[]>;
  /**
   * Unfinished sagas of instances whose lease has expired (or of no instance), claimed
   * atomically for this one: each is returned to exactly one claimer. [] on SQLite.
   */
  claimOrphanedSagas(): Promise<SagaRecord[]>;
  /**
   * Drop finished sagas (and their results) last changed before the given epoch ms, at most
   * `limit` of them (default: all); returns how many.
   */
  pruneSagas(olderThan: number, limit?: number): Promise<number>;

  // --- desired-state ledger ---
  /**
   * Record the latest intended value for a key (replacing the previous one) and return its
   * new version. A 'delete' replaces the value with a tombstone. (A write's saga records its
   * entries with its completion: completeSaga.)
   */
  putDesired(entry: { feature: string; key: string; op: 'put' | 'delete'; request: StoredRequest }): Promise<number>;
  getDesired(feature: string, key: string): Promise<LedgerEntry | undefined>;
  /** Every entry of a feature (tombstones included), ordered by version. */
  ledger(feature: string): Promise<LedgerEntry[]>;
  /** Note that a backend holds a key's state as of `version` (never moves backwards). */
  markApplied(feature: string, key: string, backend: string, version: number): Promise<void>;
  /** Version of a key a backend is known to hold, 0 when never applied. */
  appliedVersion(feature: string, key: string, backend: string): Promise<number>;
  /** Entries a backend has not applied yet (its catch-up backlog), ordered by version. */
  backlog(feature: string, backend: string): Promise<LedgerEntry[]>;
  backlogSize(feature: string, backend: string): Promise<number>;
  /**
   * Forget every version a backend was known to hold of a feature (it was reset or rebuilt):
   * its backlog becomes the whole ledger. Returns how many marks were dropped.
   */
  forgetApplied(feature: string, backend: string): Promise<number>;
  /** Remove tombstones every listed backend has applied; returns how many. */
  pruneTombstones(feature: string, backends: string[]): Promise<number>;

  // --- lagging backends (shared by every instance of a cluster) ---
  /** Every backend marked as behind the ledger, by feature. */
  laggingBackends(): Promise<LaggingMark[]>;
  /** Marks a backend as behind on a feature (a no-op when it is marked already). */
  markLagging(feature: string, backend: string): Promise<void>;
  /**
   * Removes the mark when the backend's backlog for the feature is empty, in one step (a write
   * that leaves it behind meanwhile keeps it marked) and returns true; false, with the mark
   * left, while the backlog is not empty.
   */
  clearLagging(feature: string, backend: string): Promise<boolean>;
  /**
   * Calls `onChange` whenever an instance changed a mark ('feature backend'), and with no
   * argument after each (re)connection, when changes may have been missed (PostgreSQL:
   * LISTEN/NOTIFY). Absent where one instance owns the state.
   */
  watchLagging?(onChange: (change?: string) => void, onProblem: (message: string) => void): { stop(): Promise<void> };
  /** One instance at a time, across the instances sharing this state. */
  readonly claims: ClusterClaims;

  close(): Promise<void>;

  /** Keys held across instances, when several can share this state (absent: one process only). */
  readonly keyLocks?: SharedKeyLocks;
}
