// Runs a fault campaign plan against simulators and proxy-proxy instances (processes), and
// checks at every checkpoint: everything settled (no open saga, no pending undo, no catch-up
// backlog), every backend holds what the answers imply and the same as the others, and the
// daemon's own drift check finds every backend in step with the ledger. On failure the plan is
// written to a file the error names, with what led to each difference.
import { writeFileSync } from 'node:fs';
import type { DriftReport } from '../../../src/converge/drift/drift-report.js';
import { getStatus, waitFor, waitSettled, type BackendView, type ManagedSim, type StatusDocument } from '../converge-cluster.js';
import type { CampaignInstance } from './instances.js';
import { canon, Model, type Outcome } from './model.js';
import { FILE_KEYS, type FaultSpec, type Step } from './plan.js';
import { describeFault, injectFault, liftFault } from './sim-faults.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Answer {
  i: number;
  instance: string;
  op: string;
  keys: string[];
  /** 0: no answer (the instance was killed with it in flight). */
  status: number;
  body: string;
  faults: string;
  /** Time to the answer (or to the kill), ms. */
  ms: number;
}

export interface CampaignSetup {
  seed: number;
  plan: Step[];
  sims: ManagedSim[];
  instances: CampaignInstance[];
  /** Where the plan is written when the run fails. */
  planFile: string;
  settleMs: number;
}

export interface CampaignReport {
  answers: Answer[];
  batches: number;
  faults: number;
  kills: number;
  /** Answers a kill lost. */
  lost: number;
  /** Sagas found open by a restarted instance, or taken over from a dead one. */
  recovered: number;
  takenOver: number;
  opMs: number;
  settleMs: number;
  checkpoints: number;
  /** Checkpoints reached with an instance still away: the survivors settled on their own. */
  survivorCheckpoints: number;
}

function logRecords(lines: string[]): { level: string; message: string }[] {
  return lines.flatMap((l) => {
    try {
      const r = JSON.parse(l) as { level?: string; message?: string };
      return [{ level: String(r.level ?? '').toUpperCase(), message: String(r.message ?? '') }];
    } catch {
      return l.startsWith('----') ? [{ level: 'KILL', message: l }] : [];
    }
  });
}

function warnings(instance: CampaignInstance): string[] {
  return logRecords(instance.lines())
    .filter((l) => (l.level === 'WARN' || l.level === 'ERROR' || l.level === 'KILL') && !/will be caught up/.test(l.message))
    .slice(-15)
    .map((l) => `${instance.name} ${l.level} ${l.message.slice(0, 240)}`);
}

/** Answers per status code (0: lost to a kill). */
export function answerCounts(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

/** Answer times: median, 90th percentile and longest, ms. */
export function latency(answers: Answer[]): string {
  const ms = answers.filter((a) => a.status !== 0).map((a) => a.ms).sort((x, y) => x - y);
  const at = (q: number) => ms[Math.min(ms.length - 1, Math.floor(q * ms.length))] ?? 0;
  return `answers in ${at(0.5)} ms median, ${at(0.9)} ms p90, ${ms.at(-1) ?? 0} ms max`;
}

/** Error answers grouped by status and message shape, to see what the faults caused. */
export function errorKinds(answers: Answer[]): string {
  const why: Record<string, number> = {};
  for (const a of answers) {
    if (a.status >= 200 && a.status < 300) continue;
    const k = `${a.status} ${a.body.replace(/saga \d+/g, 'saga N').replace(/[0-9a-fA-F:]{17}/g, 'MAC').slice(0, 120)}`;
    why[k] = (why[k] ?? 0) + 1;
  }
  return Object.entries(why)
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `  ${n} × ${k}`)
    .join('\n');
}

export async function runCampaign(setup: CampaignSetup): Promise<CampaignReport> {
  const { sims, instances, plan } = setup;
  const simByName = new Map(sims.map((s) => [s.name, s]));
  const model = new Model();
  const answers: Answer[] = [];
  const active = new Map<ManagedSim, FaultSpec>();
  const log: string[] = [];
  const report: CampaignReport = { answers, batches: 0, faults: 0, kills: 0, lost: 0, recovered: 0, takenOver: 0, opMs: 0, settleMs: 0, checkpoints: 0, survivorCheckpoints: 0 };

  /** Waits until what every running instance's status says of the backends holds. */
  const everyInstanceSees = (holds: (backends: StatusDocument['backends']) => boolean, what: string) =>
    waitFor(
      async () => {
        for (const inst of instances.filter((x) => x.alive)) if (!holds((await getStatus(inst.http)).backends)) return false;
        return true;
      },
      10_000,
      `${what} by every instance`,
    );

  /** Every running instance has marked the backend down. */
  const seenDown = (sim: ManagedSim) => () => everyInstanceSees((bs) => bs.find((b) => b.name === sim.name)?.state === 'down', `${sim.name} never seen down`);

  /**
   * Every running instance sees every backend up again. Until then a backend that came back
   * rebuilt looks settled (nothing was written while it was away) though it holds nothing: the
   * reset check that refills it starts only when an instance sees it return.
   */
  const seenUp = () => everyInstanceSees((bs) => bs.every((b) => b.state === 'up'), 'a backend never seen up again');

  const lift = async (sim: ManagedSim) => {
    const f = active.get(sim)!;
    active.delete(sim);
    await liftFault(sim, f, seenDown(sim));
  };

  const activeText = () => [...active].map(([s, f]) => `${s.name}:${describeFault(f)}`).join(', ');

  const diagnose = async (file: string, want: unknown, got: Map<string, unknown>): Promise<string> => {
    const [kind, id] = file.startsWith('dhcp ') ? ['dhcp', file.slice(5)] : ['tftp', file.slice(10)];
    const modelKey = kind === 'dhcp' ? `dhcp:${id}` : FILE_KEYS.get(id);
    const history = answers
      .filter((a) => modelKey !== undefined && a.keys.includes(modelKey))
      .slice(-6)
      .map((a) => `    #${a.i} via ${a.instance}: ${a.op} → ${a.status} ${a.body.slice(0, 80)} [faults: ${a.faults}]`);
    // Who touched the key on each backend that differs: live writes, compensations, catch-up.
    const needle = kind === 'dhcp' ? id : (modelKey ?? '').replace(/^tftp:[^/]*\//, '');
    const touched: string[] = [];
    for (const s of sims) {
      if (canon(got.get(s.name)) === canon(want)) continue;
      const calls = (await s.proc.calls()).filter((c) => `${c.path} ${c.body}`.toLowerCase().replace(/%3a/g, ':').includes(needle));
      touched.push(`    ${s.name} (since its last start): ${calls.slice(-8).map((c) => `${c.method} ${c.path} [${String(c.headers['x-request-id'])}]`).join(' | ')}`);
    }
    return `${file}: expected ${canon(want)}, ${[...got].map(([n, v]) => `${n}=${canon(v)}`).join(' ')}\n${history.join('\n')}\n${touched.join('\n')}`;
  };

  const verify = async (label: string) => {
    for (const s of [...active.keys()]) await lift(s);
    await seenUp();
    const running = instances.filter((x) => x.alive);
    const settling = Date.now();
    for (const inst of running) await waitSettled(inst.http, setup.settleMs, `${label}, ${inst.name}`);
    report.settleMs += Date.now() - settling;
    const views = new Map<string, BackendView>();
    for (const s of sims) views.set(s.name, await s.view());

    // Every key: the same on every backend, and one of the values the answers allow.
    const unsettled = model.settle(views);
    if (unsettled.length) {
      const text = unsettled.map((p) => `${p.key}: one of ${p.candidates.map(canon).join(' | ')} expected, ${Object.entries(p.held).map(([n, v]) => `${n}=${canon(v)}`).join(' ')}`);
      throw new Error(`${label}: backends differ from what Foreman was told:\n${text.join('\n')}`);
    }
    // Every file and reservation, none more.
    const expected = model.expectedView();
    const entries = (v: BackendView) => [...Object.entries(v.tftp).map(([k, x]) => [`tftp file ${k}`, x] as const), ...Object.entries(v.dhcp).map(([k, x]) => [`dhcp ${k}`, x] as const)];
    const want = new Map<string, unknown>(entries(expected));
    const all = new Set([...want.keys(), ...[...views.values()].flatMap((v) => entries(v).map(([k]) => k))]);
    const problems: string[] = [];
    for (const file of [...all].sort()) {
      const got = new Map([...views].map(([n, v]) => [n, new Map<string, unknown>(entries(v)).get(file)]));
      if ([...got.values()].some((g) => canon(g) !== canon(want.get(file)))) problems.push(await diagnose(file, want.get(file), got));
    }
    if (problems.length) throw new Error(`${label}: backends differ from what Foreman was told:\n${problems.join('\n')}`);

    // The daemon's own drift check, through every instance: every backend equals the ledger.
    // A difference fails at once; a backend it could not vouch for (a health check that timed out
    // on a loaded machine marks it down for a moment) is looked at again, a bounded number of times.
    for (const inst of running) {
      for (let attempt = 1; ; attempt++) {
        const r = await inst.http.post('/proxy_proxy/drift');
        if (r.status !== 200) throw new Error(`${label}: drift check through ${inst.name}: ${r.status} ${r.body}`);
        const drift = JSON.parse(r.body) as DriftReport;
        if (drift.inStep && drift.summary.differences === 0 && drift.notVerified.length === 0) break;
        if (drift.summary.differences > 0 || attempt === 20) {
          throw new Error(`${label}: drift check through ${inst.name} is not in step:\n${JSON.stringify({ findings: drift.findings, notVerified: drift.notVerified, summary: drift.summary }, null, 1)}`);
        }
        await sleep(250);
      }
    }
    report.checkpoints++;
    if (running.length < instances.length) report.survivorCheckpoints++;
  };

  const runBatch = async (step: Extract<Step, { kind: 'batch' }>) => {
    report.batches++;
    const kill = step.kill;
    const slow = kill?.slow ? simByName.get(kill.slow.sim)! : undefined;
    if (slow) await slow.faults({ delay_ms: kill!.slow!.delayMs });
    const faults = activeText() + (slow ? `${active.size ? ', ' : ''}${slow.name}:slow ${kill!.slow!.delayMs} ms` : '');
    const sent = step.ops.map(async ({ i, instance, op }) => {
      const started = Date.now();
      try {
        const r = await instances[instance]!.http.send(op.method, op.path, { form: op.form, headers: { 'x-request-id': `campaign-${i}` } });
        return { status: r.status, body: r.body, ms: Date.now() - started };
      } catch (err) {
        return { status: 0, body: `no answer: ${(err as { code?: string }).code ?? String(err)}`, ms: Date.now() - started };
      }
    });
    if (kill) {
      await sleep(kill.afterMs);
      const victim = instances[kill.instance]!;
      await victim.kill();
      report.kills++;
      log.push(`#${step.ops[0]!.i} kill -9 ${victim.name} ${kill.afterMs} ms into the batch${slow ? ` (${slow.name} slow)` : ''}${kill.downFor ? `, away for ${kill.downFor} batch(es)` : ''}`);
    }
    const replies = await Promise.all(sent);
    if (slow) await slow.faults({ delay_ms: 0 });
    if (kill && kill.downFor === 0) await instances[kill.instance]!.restart();
    const results = step.ops.map(({ i, instance, op }, k) => {
      const { status, body, ms } = replies[k]!;
      const holders = op.effect.kind === 'dhcp-del-ip' ? model.dhcpKeys().filter((key) => model.candidates(key).some((c) => (c as { ip?: string } | undefined)?.ip === (op.effect as { ip: string }).ip)) : [];
      answers.push({ i, instance: instances[instance]!.name, op: op.describe, keys: [op.key, ...holders], status, body, faults, ms });
      // Foreman always gets an answer, and a bounded one, unless the instance it asked was killed.
      if (status === 0 && kill?.instance !== instance) throw new Error(`#${i} ${op.describe} via ${instances[instance]!.name}: ${body}, and nothing killed it`);
      if (status !== 0 && ms >= 15_000) throw new Error(`#${i} ${op.describe}: answered after ${ms} ms`);
      report.opMs += ms;
      if (status === 0) report.lost++;
      const outcome: Outcome = status === 0 ? 'lost' : status >= 200 && status < 300 ? 'ok' : 'error';
      return { op, outcome };
    });
    model.applyBatch(results);
  };

  try {
    for (const step of plan) {
      if (step.kind === 'fault') {
        const sim = simByName.get(step.sim)!;
        await injectFault(sim, step.fault);
        active.set(sim, step.fault);
        report.faults++;
        log.push(`#${step.at} ${sim.name}: ${describeFault(step.fault)} for ${step.ttl} batch(es)`);
      } else if (step.kind === 'lift') await lift(simByName.get(step.sim)!);
      else if (step.kind === 'restart') await instances[step.instance]!.restart();
      else if (step.kind === 'batch') await runBatch(step);
      else await verify(`checkpoint after op ${step.after}`);
    }
  } catch (err) {
    const e = err as Error;
    writeFileSync(setup.planFile, JSON.stringify(plan, null, 1));
    const logFiles = instances.map((inst) => {
      const file = setup.planFile.replace(/\.json$/, `-${inst.name}.log`);
      writeFileSync(file, inst.lines().join('\n') + '\n');
      return file;
    });
    e.message =
      `seed ${setup.seed} (replay: PP_SEED=${setup.seed}, or PP_PLAN=${setup.planFile}), ${answers.length} answers ${JSON.stringify(answerCounts(answers))}\n${e.message}\n` +
      `proxy-proxy logs: ${logFiles.join(' ')}\n` +
      `error answers by kind:\n${errorKinds(answers)}\n` +
      `proxy-proxy warnings (last 15 per instance):\n  ${instances.flatMap(warnings).join('\n  ')}\n` +
      `faults and kills (last 40):\n  ${log.slice(-40).join('\n  ')}\nlast answers:\n  ${answers
        .slice(-8)
        .map((a) => `#${a.i} via ${a.instance}: ${a.op} → ${a.status} ${a.body.slice(0, 100)}`)
        .join('\n  ')}`;
    throw e;
  }
  for (const inst of instances) {
    const messages = logRecords(inst.lines()).map((l) => l.message);
    report.recovered += messages.filter((m) => /found open after a restart/.test(m)).length;
    report.takenOver += messages.filter((m) => /left open by an instance that is gone/.test(m)).length;
  }
  return report;
}
