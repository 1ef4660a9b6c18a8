// A backend rebuilt at the same address (disk replaced, TFTP root emptied, dhcpd state lost)
// answers its health checks like any other, and holds nothing of what the ledger says it holds.
// Catch-up alone cannot see that: the ledger says it is current. So when a backend comes back,
// and at every drift run, a sample of the verifiable keys it is known to hold is read back; if
// most are missing it was reset, and it is resynced from the whole ledger (default menus and
// boot files included, which no read can verify).
import type { Backend } from '../backends/backend.js';
import type { LedgerEntry, StateStore } from '../state/store.js';
import { replayRequest, storeCall } from './stored-form.js';
import type { FeatureInspector } from '../features/drift-inspector.js';

/** Keys read back per probe: enough to tell a wiped backend from a hand-deleted entry. */
export const PROBE_SAMPLE = 8;

export interface ProbeResult {
  feature: string;
  backend: string;
  /** Sampled keys read back (0: nothing the backend should hold can be verified). */
  checked: number;
  missing: number;
  /** Set when the backend could not be read: nothing is concluded. */
  unreadable?: string;
  reset: boolean;
}

/** Evenly spread over the ledger, so that old and recent writes are both looked at. */
function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]!);
}

export async function probeReset(store: StateStore, inspector: FeatureInspector, backend: Backend, timeoutMs: number): Promise<ProbeResult> {
  const feature = inspector.feature;
  const held: LedgerEntry[] = [];
  for (const e of await store.ledger(feature)) {
    if (e.op === 'put' && inspector.readable(e.key) && (await store.appliedVersion(feature, e.key, backend.name)) >= e.version) held.push(e);
  }
  const sample = spread(held, PROBE_SAMPLE);
  const result: ProbeResult = { feature, backend: backend.name, checked: 0, missing: 0, reset: false };
  if (sample.length === 0) return result;
  const send = (call: Parameters<Parameters<FeatureInspector['inspect']>[0]>[0]) =>
    backend.send(replayRequest(storeCall(call, `reset-probe-${Date.now()}`)), { timeoutMs });
  try {
    const seen = await inspector.inspect(send, sample);
    const unreadable = seen.find((o) => o.kind === 'unreadable');
    if (unreadable) return { ...result, unreadable: unreadable.detail ?? 'unreadable' };
    const wanted = new Set(sample.map((e) => e.key));
    const judged = seen.filter((o) => wanted.has(o.key));
    result.checked = judged.length;
    result.missing = judged.filter((o) => o.kind === 'missing').length;
  } catch (err) {
    return { ...result, unreadable: (err as { code?: string }).code ?? String(err) };
  }
  // Most of the sample gone: not a stray edit (drift repairs those) but a backend that lost its state.
  result.reset = result.checked > 0 && result.missing * 2 > result.checked;
  return result;
}
