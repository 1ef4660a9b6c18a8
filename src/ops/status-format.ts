// `proxy-proxy status`: the runtime API's status document for people.
import { span, textTable } from './text-table.js';

interface StatusDoc {
  config: string | null;
  listeners: { scheme: string; host: string; port: number }[];
  backends: {
    name: string;
    state: string;
    ejectedUntil: number | null;
    ejections: number;
    lastCheck: { at: number; ok: boolean; detail: string } | null;
    features: string[];
  }[];
  features: { name: string; policy: string; backends: string[]; on_backend_down?: string; min_success?: number; catching_up: string[] }[];
  convergence: {
    openSagas: number;
    pendingCompensations: { id: number; feature: string; route: string; attempts: number; nextAttemptAt: number | null; lastError: string | null }[];
    catchUpBacklog: Record<string, Record<string, number>>;
  };
  /** With state.driver postgresql: every instance's heartbeat row. */
  cluster?: {
    self: string;
    instances?: { id: string; runtimeUrl: string | null; lastHeartbeat: number; leaseUntil: number; live: boolean }[];
    /** The instance that runs the cluster's chores; null: none now; absent: not known. */
    leader?: string | null;
    error?: string;
  };
  rex?: RexStatus;
}

interface RexStatus {
  jobs: Record<string, number>;
  mqtt: string;
  doorbellsSent: number;
  doorbellsResent: number;
  cancelsSent: number;
  pickupTimeouts: number;
  executionTimeouts: number;
  lostReports?: number;
  failed?: number;
  finishedLastMinute?: number;
  lostReportSuspects?: { taskId: string; host: string; jobUuid: string; since: number; due: number }[];
}

const JOB_STATES = ['ready_for_pickup', 'notified', 'delivered', 'running', 'finished'];

/** The REX pull spool: jobs by state, the MQTT link, counters, and jobs that may never hear from their host. */
function formatRex(rex: RexStatus, now: number): string[] {
  const out: string[] = [];
  const states = [...JOB_STATES, ...Object.keys(rex.jobs).filter((s) => !JOB_STATES.includes(s))];
  const failed = rex.failed === undefined ? '' : ` (${rex.failed} failed, ${rex.finishedLastMinute ?? 0} in the last minute)`;
  out.push(`remote execution spool: ${states.map((s) => `${s} ${rex.jobs[s] ?? 0}${s === 'finished' ? failed : ''}`).join(', ')}; MQTT ${rex.mqtt}`);
  out.push(
    `  doorbells ${rex.doorbellsSent} (+${rex.doorbellsResent} resent), cancels ${rex.cancelsSent}, pickup timeouts ${rex.pickupTimeouts}, ` +
      `execution timeouts ${rex.executionTimeouts}, ended for a lost report ${rex.lostReports ?? 0}`,
  );
  const suspects = rex.lostReportSuspects ?? [];
  if (suspects.length === 0) return out;
  out.push(`  running before the last restart, no report from the host since (each fails unless its host reports):`);
  const rows = [['TASK', 'HOST', 'SILENT SINCE', 'FAILS IN']];
  for (const j of suspects) rows.push([j.taskId, j.host, new Date(j.since).toISOString(), j.due <= now ? 'now' : span(j.due - now)]);
  out.push(...textTable(rows).split('\n').map((l) => `  ${l}`));
  return out;
}

export function formatStatus(raw: unknown, now = Date.now()): string {
  const doc = raw as StatusDoc;
  const out: string[] = [];
  if (doc.config) out.push(`config: ${doc.config}`);
  const host = (h: string) => (h.includes(':') ? `[${h}]` : h);
  out.push(`listening: ${doc.listeners.map((l) => `${l.scheme}://${host(l.host)}:${l.port}`).join(', ') || 'nowhere'}`);

  const backends = [['BACKEND', 'STATE', 'EJECTED', 'LAST CHECK', 'FEATURES']];
  for (const b of doc.backends) {
    const ejected = b.ejectedUntil ? `${span(b.ejectedUntil - now)} more (${b.ejections} ejection(s))` : '-';
    const check = b.lastCheck ? `${b.lastCheck.ok ? 'ok' : `failed: ${b.lastCheck.detail}`} ${span(now - b.lastCheck.at)} ago` : '-';
    backends.push([b.name, b.state, ejected, check, b.features.join(', ') || '-']);
  }
  out.push('', textTable(backends));

  const features = [['FEATURE', 'POLICY', 'BACKENDS', 'BACKEND DOWN', 'CATCHING UP']];
  for (const f of doc.features) {
    const down = f.on_backend_down ? `${f.on_backend_down}${f.min_success !== undefined ? ` (min ${f.min_success})` : ''}` : '-';
    features.push([f.name, f.policy, f.backends.join(', ') || '-', down, f.catching_up.join(', ') || '-']);
  }
  out.push('', textTable(features));

  const c = doc.convergence;
  out.push('', `open sagas: ${c.openSagas}`, `pending compensations: ${c.pendingCompensations.length}`);
  for (const p of c.pendingCompensations) {
    const next = p.nextAttemptAt === null ? 'due now' : `next in ${span(p.nextAttemptAt - now)}`;
    out.push(`  saga ${p.id} ${p.route}: ${p.attempts} attempt(s), ${next}${p.lastError ? `; last error: ${p.lastError}` : ''}`);
  }
  const backlog = Object.entries(c.catchUpBacklog).map(
    ([feature, per]) => `${feature}: ${Object.entries(per).map(([b, n]) => `${b} ${n}`).join(', ') || '-'}`,
  );
  out.push(`catch-up backlog: ${backlog.join('; ') || 'no replicated feature'}`);
  if (doc.cluster) out.push('', ...clusterLines(doc.cluster, now));
  if (doc.rex) out.push('', ...formatRex(doc.rex, now));
  return out.join('\n') + '\n';
}

function clusterLines(cluster: NonNullable<StatusDoc['cluster']>, now: number): string[] {
  if (cluster.error) return [`cluster: ${cluster.error}`];
  const rows = [['INSTANCE', 'RUNTIME URL', 'LAST HEARTBEAT', 'LEASE']];
  for (const i of cluster.instances ?? []) {
    const lease = i.live ? `live, ${span(i.leaseUntil - now)} left` : `expired ${span(now - i.leaseUntil)} ago`;
    rows.push([`${i.id}${i.id === cluster.self ? ' (this one)' : ''}`, i.runtimeUrl ?? '-', `${span(now - i.lastHeartbeat)} ago`, lease]);
  }
  const out = [textTable(rows)];
  if (cluster.leader !== undefined) {
    out.push(
      cluster.leader === null
        ? "leader: none (the drift schedule and the clean-up wait for one)"
        : `leader: ${cluster.leader}${cluster.leader === cluster.self ? ' (this one)' : ''} (runs the drift schedule and the clean-up)`,
    );
  }
  return out;
}
