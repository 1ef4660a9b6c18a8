// The drift check: compare what each in-service backend of a replicated feature holds with the
// desired-state ledger, and on request repair it. It runs inside the daemon because a repair
// must hold the key's lock (a live write to the same key must not be overtaken) and goes
// through the same backend pools. A repair re-sends the ledger's entry only if that entry is
// still the one the check compared against; anything written since is judged by the re-check.
import type { Backend } from '../../backends/backend.js';
import { featureByName } from '../../features/index.js';
import type { Runtime } from '../../runtime.js';
import type { StateStore } from '../../state/store.js';
import type { Convergence } from '../convergence.js';
import { replayRequest, storeCall } from '../stored-form.js';
import { isDrift, type DriftReport, type FeatureSummary, type RepairResult } from './drift-report.js';
import type { BackendSend, DriftFinding, FeatureInspector } from '../../features/drift-inspector.js';
import { probeReset, type ProbeResult } from '../reset-probe.js';
import { sendJudged } from '../send-judged.js';

/** The drift inspector a module declares, if it has one. */
const inspectorOf = (feature: string): FeatureInspector | undefined => featureByName(feature)?.drift;

/** What a run needs; a Daemon has all three. */
export interface DriftContext {
  readonly runtime: Runtime;
  readonly store: StateStore;
  readonly converge: Convergence;
}

export interface DriftOptions {
  repair?: boolean;
  /** Also delete extras (implies repair). */
  prune?: boolean;
  /** Stops a run early (daemon shutdown); what is left unread is reported unreadable. */
  signal?: AbortSignal;
}

interface Pass {
  findings: DriftFinding[];
  /** Inspected (feature, backend) pairs, as 'feature\0backend'. */
  pairs: Set<string>;
}

const pairId = (feature: string, backend: string) => `${feature}\0${backend}`;

function sender(backend: Backend, requestId: string, signal: AbortSignal | undefined): BackendSend {
  return async (call) => {
    if (signal?.aborted) throw Object.assign(new Error('drift check stopped'), { code: 'STOPPED' });
    return backend.send(replayRequest(storeCall(call, requestId)));
  };
}

export async function runDrift(ctx: DriftContext, opts: DriftOptions = {}): Promise<DriftReport> {
  const startedAt = new Date();
  const prune = opts.prune === true;
  const repair = opts.repair === true || prune;
  // One runtime for the whole run: a reload in between must not mix two configurations.
  const rt = ctx.runtime;
  const requestId = `drift-${startedAt.getTime()}`;
  const features: FeatureSummary[] = [];
  const unverifiable: DriftReport['unverifiable'] = [];
  const targets: { inspector: FeatureInspector; backends: Backend[] }[] = [];

  for (const f of rt.features.values()) {
    const inspector = inspectorOf(f.name);
    if (f.policy !== 'replicate' || !inspector) continue;
    const entries = await ctx.store.ledger(f.name);
    for (const e of entries) if (!inspector.readable(e.key)) unverifiable.push({ feature: f.name, key: e.key });
    const inService = f.backends.filter((b) => b.health.inService);
    features.push({
      feature: f.name,
      keys: entries.length,
      backends: inService.map((b) => b.name),
      skipped: f.backends.filter((b) => !b.health.inService).map((b) => ({ backend: b.name, state: b.health.state })),
    });
    targets.push({ inspector, backends: inService });
  }

  // A backend that lost its state looks in step to catch-up (the ledger says it holds it all):
  // resync it from the whole ledger before judging it, and say so.
  const resyncs: ProbeResult[] = [];
  for (const { inspector, backends } of targets) {
    for (const backend of backends) {
      if (!backend.health.available || opts.signal?.aborted) continue;
      const probe = await probeReset(ctx.store, inspector, backend, rt.config.snapshot_timeout_ms);
      if (!probe.reset) continue;
      await ctx.converge.resync(inspector.feature, backend.name, `drift check: ${probe.missing} of ${probe.checked} sampled key(s) it held are gone`);
      resyncs.push(probe);
    }
  }

  const check = async (only?: Set<string>): Promise<Pass> => {
    const pass: Pass = { findings: [], pairs: new Set() };
    const jobs = targets.flatMap(({ inspector, backends }) =>
      backends
        .filter((b) => !only || only.has(pairId(inspector.feature, b.name)))
        .map(async (backend) => {
          const feature = inspector.feature;
          pass.pairs.add(pairId(feature, backend.name));
          if (!backend.health.available) {
            const why = backend.health.ejected ? 'ejected after live failures' : `backend is ${backend.health.state}`;
            pass.findings.push({ feature, backend: backend.name, key: '*', kind: 'unreadable', detail: why });
            return;
          }
          // Read the ledger now, not at the start: a re-check must see what the repair wrote.
          const entries = (await ctx.store.ledger(feature)).filter((e) => inspector.readable(e.key));
          const byKey = new Map(entries.map((e) => [e.key, e]));
          for (const o of await inspector.inspect(sender(backend, requestId, opts.signal), entries)) {
            if (o.kind === 'ok') continue;
            const e = byKey.get(o.key);
            const finding: DriftFinding = { ...o, kind: o.kind, feature, backend: backend.name };
            if (e && o.kind !== 'unreadable') {
              finding.version = e.version;
              if ((await ctx.store.appliedVersion(feature, e.key, backend.name)) < e.version) finding.behind = true;
            }
            pass.findings.push(finding);
          }
        }),
    );
    await Promise.all(jobs);
    pass.findings.sort((a, b) => a.feature.localeCompare(b.feature) || a.backend.localeCompare(b.backend) || a.key.localeCompare(b.key));
    return pass;
  };

  const first = await check();
  const peers = await comparePeers(rt, requestId, opts.signal);
  features.push(...peers.features);
  first.findings.push(...peers.findings);
  const repairs: RepairResult[] = [];
  let remaining = first.findings.filter(isDrift);

  if (repair) {
    for (const f of remaining) {
      if (f.kind === 'extra' && !prune) continue;
      // Nothing to send: no smart-proxy API installs a role; the difference stays reported.
      if (featureByName(f.feature)?.peerDrift) continue;
      if (opts.signal?.aborted) break;
      repairs.push(await repairOne(ctx, rt, f, requestId));
    }
    // Keys no API reads back (default menus, boot files) are written again: the writes are
    // idempotent, and a backend that lost them cannot be told apart from one that holds them.
    for (const { inspector, backends } of targets) {
      for (const backend of backends) {
        if (!backend.health.available || opts.signal?.aborted) continue;
        for (const e of (await ctx.store.ledger(inspector.feature)).filter((x) => !inspector.readable(x.key))) {
          repairs.push(await resendUnverifiable(ctx, backend, inspector.feature, e.key, e.version, requestId));
        }
      }
    }
    // Only the pairs that were touched are read again; the others cannot have changed by us.
    const touched = new Set(repairs.filter((r) => r.kind !== 'unverifiable').map((r) => pairId(r.feature, r.backend)));
    if (touched.size > 0) {
      const again = await check(touched);
      for (const r of repairs) {
        if (r.outcome !== 'fixed') continue;
        const still = again.findings.find(
          (g) => g.feature === r.feature && g.backend === r.backend && (g.key === r.key || g.key === '*' || r.key.startsWith(`${g.key}/`)),
        );
        if (still) {
          r.outcome = 'not_fixed';
          r.detail = `re-check: ${still.kind}${still.actual ? ` ${still.actual}` : ''}${still.detail ? ` ${still.detail}` : ''}`;
        }
      }
      remaining = [...remaining.filter((f) => !touched.has(pairId(f.feature, f.backend))), ...again.findings.filter(isDrift)];
    }
  }

  const unreadable = first.findings.filter((f) => f.kind === 'unreadable').length;
  // A backend that could not be read, or that is still behind the ledger, is not vouched for.
  const notVerified: DriftReport['notVerified'] = [];
  for (const { inspector, backends } of targets) {
    for (const backend of backends) {
      const feature = inspector.feature;
      const unread = first.findings.find((f) => f.feature === feature && f.backend === backend.name && f.kind === 'unreadable');
      const backlog = await ctx.store.backlogSize(feature, backend.name);
      if (unread) notVerified.push({ feature, backend: backend.name, why: `unreadable (${unread.detail ?? unread.key})` });
      else if (backlog > 0) notVerified.push({ feature, backend: backend.name, why: `catch-up backlog of ${backlog} key(s)` });
      else if (ctx.converge.isLagging(feature, backend.name)) notVerified.push({ feature, backend: backend.name, why: 'catching up' });
    }
  }
  const resent = repairs.filter((r) => r.kind === 'unverifiable' && r.outcome === 'fixed').length;
  return {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    repair,
    prune,
    features,
    findings: first.findings,
    unverifiable,
    repairs,
    resyncs,
    remaining,
    notVerified,
    summary: {
      differences: first.findings.filter(isDrift).length,
      unreadable,
      unverifiable: unverifiable.length,
      repaired: repairs.filter((r) => r.kind !== 'unverifiable' && r.outcome === 'fixed').length,
      failed: repairs.filter((r) => r.kind !== 'unverifiable' && (r.outcome === 'failed' || r.outcome === 'not_fixed')).length,
      remaining: remaining.length,
      resent,
      notVerified: notVerified.length,
    },
    inStep: remaining.length === 0 && notVerified.length === 0,
  };
}

/** Re-sends one unverifiable ledger entry under its key's lock, unless it changed since it was listed. */
async function resendUnverifiable(ctx: DriftContext, backend: Backend, feature: string, key: string, version: number, requestId: string): Promise<RepairResult> {
  const base = { feature, backend: backend.name, key, kind: 'unverifiable' as const, action: 'resend' as const };
  return ctx.converge.locks.with([`${feature}/${key}`], async (): Promise<RepairResult> => {
    const latest = await ctx.store.getDesired(feature, key);
    if (!latest || latest.version !== version) return { ...base, outcome: 'skipped', detail: 'written since the check' };
    const r = await ctx.converge.sendEntry(backend, latest, requestId);
    return r === true ? { ...base, outcome: 'fixed' } : { ...base, outcome: 'failed', detail: r };
  });
}

/**
 * Backends of a peer-compared feature against the union of what they hold: each name some
 * in-service backend lacks is a `missing` finding on that backend.
 */
async function comparePeers(rt: Runtime, requestId: string, signal: AbortSignal | undefined): Promise<{ features: FeatureSummary[]; findings: DriftFinding[] }> {
  const features: FeatureSummary[] = [];
  const findings: DriftFinding[] = [];
  for (const f of rt.features.values()) {
    const inspector = featureByName(f.name)?.peerDrift;
    if (!inspector) continue;
    const inService = f.backends.filter((b) => b.health.inService);
    const held = await Promise.all(
      inService.map(async (b) => {
        if (!b.health.available) return { backend: b, error: b.health.ejected ? 'ejected after live failures' : `backend is ${b.health.state}` };
        try {
          return { backend: b, names: new Set(await inspector.holdings(sender(b, requestId, signal))) };
        } catch (err) {
          return { backend: b, error: (err as { code?: string }).code ?? String(err) };
        }
      }),
    );
    const all = new Set<string>();
    for (const h of held) for (const n of h.names ?? []) all.add(n);
    for (const h of held) {
      if (!h.names) {
        findings.push({ feature: f.name, backend: h.backend.name, key: '*', kind: 'unreadable', detail: h.error });
        continue;
      }
      for (const name of [...all].sort()) {
        if (h.names.has(name)) continue;
        const holders = held.filter((o) => o.names?.has(name)).map((o) => o.backend.name);
        findings.push({ feature: f.name, backend: h.backend.name, key: inspector.key(name), kind: 'missing', detail: `held by ${holders.join(', ')}` });
      }
    }
    features.push({
      feature: f.name,
      keys: all.size,
      backends: inService.map((b) => b.name),
      skipped: f.backends.filter((b) => !b.health.inService).map((b) => ({ backend: b.name, state: b.health.state })),
    });
  }
  return { features, findings };
}

/**
 * One repair under the key's lock. 'fixed' here means sent; the re-check may still demote it.
 * An entry that changed since the check is left alone: a live write has put the key in a
 * newer state, and the re-check judges that state.
 */
async function repairOne(ctx: DriftContext, rt: Runtime, f: DriftFinding, requestId: string): Promise<RepairResult> {
  const inspector = inspectorOf(f.feature)!;
  const backend = rt.backends.get(f.backend)!;
  const base = { feature: f.feature, backend: f.backend, key: f.key, kind: f.kind };
  return ctx.converge.locks.with([`${f.feature}/${f.key}`], async (): Promise<RepairResult> => {
    if (f.kind === 'extra') {
      if (await ctx.store.getDesired(f.feature, f.key)) return { ...base, action: 'prune', outcome: 'skipped', detail: 'written through proxy-proxy since the check' };
      const call = inspector.prune?.(f);
      if (!call) return { ...base, action: 'prune', outcome: 'failed', detail: 'no API removes it' };
      const r = await sendJudged(backend, replayRequest(storeCall(call, requestId)));
      return r === true ? { ...base, action: 'prune', outcome: 'fixed' } : { ...base, action: 'prune', outcome: 'failed', detail: r };
    }
    const latest = await ctx.store.getDesired(f.feature, f.key);
    if (!latest || latest.version !== f.version) return { ...base, action: 'resend', outcome: 'skipped', detail: 'written since the check' };
    for (const step of inspector.prepare?.(f) ?? []) {
      const r = await sendJudged(backend, replayRequest(storeCall(step, requestId)));
      if (r !== true) return { ...base, action: 'resend', outcome: 'failed', detail: r };
    }
    const r = await ctx.converge.sendEntry(backend, latest, requestId);
    return r === true ? { ...base, action: 'resend', outcome: 'fixed' } : { ...base, action: 'resend', outcome: 'failed', detail: r };
  });
}
