// The saga log and ledger as both drivers keep them: the same columns, the same JSON-in-TEXT
// documents, read back into the same records (state/store.ts).
import type { BackendOutcome, BackendResult, LedgerEntry, SagaRecord, SagaStatus, StoredAnswer, StoredRequest } from './store.js';

export interface SagaRow {
  id: number;
  feature: string;
  route: string;
  request: string;
  targets: string;
  snapshots: string;
  status: SagaStatus;
  answer_status: number | null;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface ResultRow {
  saga_id: number;
  backend: string;
  outcome: BackendOutcome;
  detail: string | null;
}

export interface LedgerRow {
  feature: string;
  key: string;
  op: 'put' | 'delete';
  request: string;
  version: number;
  updated_at: number;
}

export const SAGA_COLUMNS =
  'id, feature, route, request, targets, snapshots, status, answer_status, attempts, next_attempt_at, last_error, created_at, updated_at';
export const LEDGER_COLUMNS = 'feature, key, op, request, version, updated_at';
export const UNFINISHED = "('open', 'compensating')";
export const FINISHED = "('completed', 'compensated')";

export function unknownSaga(id: number): Error {
  return new Error(`unknown saga ${id}`);
}

export function toSaga(row: SagaRow, results: ResultRow[]): SagaRecord {
  return {
    id: row.id,
    feature: row.feature,
    route: row.route,
    request: JSON.parse(row.request) as StoredRequest,
    targets: JSON.parse(row.targets) as string[],
    snapshots: JSON.parse(row.snapshots) as Record<string, StoredAnswer>,
    results: Object.fromEntries(
      results.map((r): [string, BackendResult] => [r.backend, r.detail === null ? { outcome: r.outcome } : { outcome: r.outcome, detail: r.detail }]),
    ),
    status: row.status,
    answerStatus: row.answer_status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toEntry(row: LedgerRow): LedgerEntry {
  return {
    feature: row.feature,
    key: row.key,
    op: row.op,
    request: JSON.parse(row.request) as StoredRequest,
    version: row.version,
    updatedAt: row.updated_at,
  };
}
