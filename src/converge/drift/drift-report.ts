// The drift report as the API returns it (JSON), as a table for people, and as log lines.
import { textTable } from '../../ops/text-table.js';
import type { ProbeResult } from '../reset-probe.js';
import { DRIFT_KINDS, type DriftFinding, type DriftKind } from '../../features/drift-inspector.js';

export interface FeatureSummary {
  feature: string;
  /** Ledger entries of the feature, tombstones included. */
  keys: number;
  /** Backends compared with the ledger. */
  backends: string[];
  /** Backends left out because they are drained or in maintenance. */
  skipped: { backend: string; state: string }[];
}

export interface RepairResult {
  feature: string;
  backend: string;
  key: string;
  kind: DriftKind;
  /** resend: the ledger entry was sent again; prune: an extra object was deleted. */
  action: 'resend' | 'prune';
  /**
   * fixed: sent and the re-check agrees (for unverifiable keys: sent and accepted); not_fixed:
   * sent but still different; failed: the backend refused; skipped: written since the check.
   */
  outcome: 'fixed' | 'not_fixed' | 'failed' | 'skipped';
  detail?: string;
}

export interface DriftReport {
  startedAt: string;
  finishedAt: string;
  repair: boolean;
  prune: boolean;
  features: FeatureSummary[];
  /** What the first pass found: differences and unreadable backends. */
  findings: DriftFinding[];
  /** Ledger keys the API cannot read back (TFTP default menus, boot files). */
  unverifiable: { feature: string; key: string }[];
  repairs: RepairResult[];
  /** Backends found reset (most sampled keys gone) and resynced from the whole ledger. */
  resyncs: ProbeResult[];
  /** Differences left at the end (after the re-check when repairing). */
  remaining: DriftFinding[];
  /** Backends whose state this run could not vouch for: unreadable, or with a catch-up backlog. */
  notVerified: { feature: string; backend: string; why: string }[];
  summary: {
    differences: number;
    unreadable: number;
    unverifiable: number;
    repaired: number;
    failed: number;
    remaining: number;
    /** Unverifiable keys re-sent by --repair. */
    resent: number;
    notVerified: number;
  };
  /** No difference left and every backend verified. */
  inStep: boolean;
}

export const isDrift = (f: DriftFinding): boolean => DRIFT_KINDS.has(f.kind);

function explain(f: DriftFinding): string {
  const parts: string[] = [];
  if (f.expected !== undefined) parts.push(`expected ${f.expected}`);
  if (f.actual !== undefined) parts.push(`${f.kind === 'extra' || f.kind === 'unexpected' ? 'holds' : 'actual'} ${f.actual}`);
  if (f.detail) parts.push(f.detail);
  if (f.behind) parts.push('(not applied yet: in the catch-up backlog)');
  return parts.join('; ');
}

export interface DriftLogLine {
  level: 'info' | 'warn';
  message: string;
  meta: Record<string, unknown>;
}

/** One log line per finding and per repair, then the summary. */
export function driftLogLines(report: DriftReport, origin: string): DriftLogLine[] {
  const lines: DriftLogLine[] = report.findings.map((f) => ({
    level: 'warn',
    message: `drift: ${f.feature} ${f.backend} ${f.key} ${f.kind}${explain(f) ? `: ${explain(f)}` : ''}`,
    meta: { feature: f.feature, backend: f.backend, key: f.key, drift: f.kind },
  }));
  for (const r of report.repairs) {
    lines.push({
      level: r.outcome === 'fixed' ? 'info' : 'warn',
      message: `drift repair: ${r.feature} ${r.backend} ${r.key} ${r.action} ${r.outcome}${r.detail ? `: ${r.detail}` : ''}`,
      meta: { feature: r.feature, backend: r.backend, key: r.key, drift: r.kind },
    });
  }
  lines.push({ level: report.inStep ? 'info' : 'warn', message: `drift check (${origin}): ${summaryLine(report)}`, meta: { ...report.summary } });
  return lines;
}

export function summaryLine(report: DriftReport): string {
  const s = report.summary;
  const keys = report.features.reduce((n, f) => n + f.keys, 0);
  const parts = [`${report.features.length} feature(s), ${keys} key(s)`, `${s.differences} difference(s)`];
  if (s.unreadable) parts.push(`${s.unreadable} unreadable`);
  if (s.unverifiable) parts.push(`${s.unverifiable} unverifiable${report.repair ? ` (${s.resent} re-sent)` : ''}`);
  if (report.resyncs.length) parts.push(`${report.resyncs.length} reset backend(s) resyncing`);
  if (report.repair) parts.push(`${s.repaired} repaired`, `${s.failed} failed`, `${s.remaining} left`);
  if (report.inStep) parts.push('in step');
  else if (s.remaining === 0) parts.push(`NOT verified (${report.notVerified.map((n) => `${n.feature} on ${n.backend}: ${n.why}`).join('; ')})`);
  else parts.push('NOT in step');
  return parts.join(', ');
}

/** The human form: checked features, one row per finding (with what repair did), summary. */
export function formatDriftReport(report: DriftReport): string {
  const out: string[] = [];
  for (const f of report.features) {
    const skipped = f.skipped.length ? `; skipped ${f.skipped.map((s) => `${s.backend} (${s.state})`).join(', ')}` : '';
    out.push(`${f.feature}: ${f.keys} key(s) on ${f.backends.join(', ') || 'no backend'}${skipped}`);
  }
  if (report.features.length === 0) out.push('no replicated feature with a drift check');
  if (report.findings.length) {
    const repairOf = (f: DriftFinding) => report.repairs.find((r) => r.feature === f.feature && r.backend === f.backend && r.key === f.key);
    const rows = [['FEATURE', 'BACKEND', 'KEY', 'KIND', ...(report.repair ? ['REPAIR'] : []), 'DETAIL']];
    for (const f of report.findings) {
      const r = repairOf(f);
      const repairCell = r ? r.outcome + (r.detail ? ` (${r.detail})` : '') : f.kind === 'extra' ? 'kept (--prune)' : isDrift(f) ? 'no' : '-';
      const detail = f.kind === 'extra' && !report.prune ? `${explain(f)}; not in the ledger` : explain(f);
      rows.push([f.feature, f.backend, f.key, f.kind, ...(report.repair ? [repairCell] : []), detail]);
    }
    out.push('', textTable(rows));
  }
  if (report.unverifiable.length) {
    out.push('', `unverifiable (no read API): ${report.unverifiable.map((u) => `${u.feature} ${u.key}`).join(', ')}`);
    const resent = report.repairs.filter((r) => r.kind === 'unverifiable');
    if (report.repair) {
      const ok = resent.filter((r) => r.outcome === 'fixed').length;
      const bad = resent.filter((r) => r.outcome !== 'fixed').map((r) => `${r.feature} ${r.key} on ${r.backend}: ${r.outcome}${r.detail ? ` (${r.detail})` : ''}`);
      out.push(`re-sent ${ok} unverifiable key write(s) to the backends (idempotent: a default menu or boot file is written again)${bad.length ? `; not re-sent: ${bad.join(', ')}` : ''}`);
    }
  }
  for (const r of report.resyncs) {
    out.push('', `${r.backend} was reset: ${r.missing} of ${r.checked} sampled ${r.feature} key(s) it held are gone; resync from the whole ledger started (proxy-proxy status shows its backlog)`);
  }
  if (report.notVerified.length) {
    out.push('', 'not verified:', ...report.notVerified.map((n) => `  ${n.feature} on ${n.backend}: ${n.why}`));
  }
  out.push('', summaryLine(report));
  return out.join('\n') + '\n';
}
