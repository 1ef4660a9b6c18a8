// Shared types of the drift check: what one backend holds compared with the desired-state
// ledger, per feature. Inspectors only read and judge; the engine (converge/drift/drift-check.ts) decides what
// to repair and sends it under the key locks.
import type { BackendAnswer, BackendCall } from './route.js';
import type { LedgerEntry } from '../state/store.js';

/**
 * missing: the ledger puts a value there, the backend has none; different: it has another one;
 * unexpected: the ledger deleted it, the backend still has it; extra: the backend has an object
 * the ledger never heard of (may predate proxy-proxy); unreadable: the backend could not be read
 * (an error, not drift); unverifiable: a key no read API can check (only in repairs: re-sent).
 */
export type DriftKind = 'missing' | 'different' | 'unexpected' | 'extra' | 'unreadable' | 'unverifiable';

/** Kinds that are differences (repairable, and the CLI's exit status 1). */
export const DRIFT_KINDS: ReadonlySet<DriftKind> = new Set(['missing', 'different', 'unexpected', 'extra']);

/** One inspector verdict on one key of one backend; 'ok' when it matches the ledger. */
export interface Observation {
  key: string;
  kind: DriftKind | 'ok';
  /** Short descriptions of the two sides, for `different` (and `missing`/`extra` where useful). */
  expected?: string;
  actual?: string;
  detail?: string;
}

export interface DriftFinding extends Observation {
  kind: DriftKind;
  feature: string;
  backend: string;
  /** Ledger version compared against (absent for extras and unreadable backends). */
  version?: number;
  /** The ledger already knows this backend has not applied the entry (catch-up pending). */
  behind?: boolean;
}

/** Sends one read (or repair step) to the backend under inspection; throws on transport errors. */
export type BackendSend = (call: BackendCall) => Promise<BackendAnswer>;

export interface FeatureInspector {
  readonly feature: string;
  /** False for keys the smart-proxy API cannot read back: reported as unverifiable. */
  readable(key: string): boolean;
  /** Judges every given (readable) entry on one backend, plus extras where it can list objects. */
  inspect(send: BackendSend, entries: LedgerEntry[]): Promise<Observation[]>;
  /** Requests that must precede re-sending the ledger entry (DHCP: drop the differing reservation). */
  prepare?(finding: DriftFinding): BackendCall[];
  /** The request that removes an extra object (only sent with --prune). */
  prune?(finding: DriftFinding): BackendCall | undefined;
}

/** Compares a feature's backends with one another; no repair (no API installs what is missing). */
export interface PeerInspector {
  readonly feature: string;
  /** What one backend holds, as names; throws when it cannot be read. */
  holdings(send: BackendSend): Promise<string[]>;
  /** Finding key for one name. */
  key(name: string): string;
}

/** The parameters of a stored request as Rack merges them: query first, form body wins. */
export function entryParams(entry: LedgerEntry): URLSearchParams {
  const merged = new URLSearchParams(entry.request.query);
  if ((entry.request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
    for (const [k, v] of new URLSearchParams(entry.request.body)) merged.set(k, v);
  }
  return merged;
}

/** A value short enough for one table cell, control characters visible. */
export function shortText(s: string, max = 48): string {
  const json = JSON.stringify(s);
  return json.length <= max ? json : `${json.slice(0, max - 2)}…"`;
}

/** Runs `fn` over `items` with at most `limit` in flight; stops starting new ones once `stop()` says so. */
export async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>, stop: () => boolean = () => false): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stop()) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
