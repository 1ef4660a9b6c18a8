// Randomised fault campaign: hundreds of colliding TFTP and DHCP writes through proxy-proxy to
// three simulators while faults come and go (refused, 5xx, 409, hung, hung then dead, reset
// connections, restarts, backends rebuilt empty), up to three at once and often on the same key,
// then: every backend holds exactly what the answers Foreman got imply (a 2xx write is applied,
// an error is not; of writes to one key answered 2xx together, one of them is what holds), and
// the three are identical.
// Seeded: the plan (operations, batches, faults) is a function of the seed alone, never of the
// answers or of timing, so PP_SEED=<n> replays a run exactly (PP_OPS=<n> changes its length); the
// plan is also written to a file named on failure.
import { describe, it, expect, afterAll } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { perMacFiles, variantOf } from '../../src/sim/tftp-layout.js';
import { client, type Client } from '../support/http-client.js';
import { clusterYaml, startSims, tempDir, waitSettled, type BackendView, type ManagedSim, type ReservationView } from '../support/converge-cluster.js';

const SEED = process.env.PP_SEED !== undefined ? Number(process.env.PP_SEED) >>> 0 : (Date.now() ^ (process.pid << 10)) >>> 0;
const OPS = Number(process.env.PP_OPS ?? 300);
const CHECKPOINTS = 8;
const FAULT_RATE = 0.12;
const SETTLE_MS = 30_000;

/** mulberry32: small, seedable, good enough to pick operations. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NETWORK = '192.0.2.0';
const TFTP_MACS = ['00:16:3e:00:00:01', '00:16:3e:00:00:02', '00:16:3e:00:00:03'];
/** URL variants; '' is the legacy form (Syslinux), which shares its key and file with PXELinux. */
const TFTP_VARIANTS = ['PXELinux', 'PXEGrub2', 'iPXE', ''];
const DHCP_MACS = ['52:54:00:aa:00:01', '52:54:00:aa:00:02', '52:54:00:aa:00:03', '52:54:00:aa:00:04', '52:54:00:aa:00:05'];
const DHCP_IPS = ['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14', '192.0.2.15'];

interface Model {
  /** `tftp:<variant>/<mac>` as the daemon keys its ledger → the sim variant whose files it writes, and the content. */
  tftp: Map<string, { variant: string; mac: string; content: string }>;
  dhcp: Map<string, ReservationView>;
}

type Effect =
  | { kind: 'tftp-put'; key: string; variant: string; mac: string; content: string }
  | { kind: 'tftp-del'; key: string; variant: string; mac: string }
  | { kind: 'dhcp-put'; mac: string; rec: ReservationView }
  | { kind: 'dhcp-del'; mac: string }
  | { kind: 'dhcp-del-ip'; ip: string };

/** One request of the plan, as data: what is sent, and what a 2xx answer means for the model. */
interface Op {
  describe: string;
  /** The model key it writes ('dhcp-ip:<ip>' for a delete by IP, whose keys depend on the state). */
  key: string;
  method: 'POST' | 'DELETE';
  path: string;
  form?: Record<string, string>;
  effect: Effect;
}

/** A model key's value after an op succeeded (undefined: absent). */
type Value = Model['tftp'] extends Map<string, infer T> ? T | ReservationView | undefined : never;

function applyOp(m: Model, op: Op): void {
  const e = op.effect;
  if (e.kind === 'tftp-put') m.tftp.set(e.key, { variant: e.variant, mac: e.mac, content: e.content });
  else if (e.kind === 'tftp-del') m.tftp.delete(e.key);
  else if (e.kind === 'dhcp-put') m.dhcp.set(e.mac, e.rec);
  else if (e.kind === 'dhcp-del') m.dhcp.delete(e.mac);
  else for (const [k, r] of [...m.dhcp]) if (r.ip === e.ip) m.dhcp.delete(k);
}

function valueOf(op: Op): Value {
  const e = op.effect;
  if (e.kind === 'tftp-put') return { variant: e.variant, mac: e.mac, content: e.content };
  if (e.kind === 'dhcp-put') return e.rec;
  return undefined;
}

interface Answer {
  i: number;
  op: string;
  keys: string[];
  status: number;
  body: string;
  faults: string;
}

function tftpKey(urlVariant: string, mac: string): { key: string; variant: string } {
  const v = variantOf(urlVariant || 'syslinux')!;
  const base = v === 'Syslinux' ? 'Pxelinux' : v;
  return { key: `tftp:${base.toLowerCase()}/${mac.toLowerCase()}`, variant: base };
}

/** Sometimes upper-case: the ledger key and the files must not depend on the spelling. */
function spell(rnd: () => number, mac: string): string {
  return rnd() < 0.2 ? mac.toUpperCase() : mac;
}

/** The next request of the plan: drawn from the seed only, never from the answers so far. */
function nextOp(i: number, rnd: () => number): Op {
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  if (rnd() < 0.55) {
    const mac = pick(TFTP_MACS);
    const urlVariant = pick(TFTP_VARIANTS);
    const { key, variant } = tftpKey(urlVariant, mac);
    const path = urlVariant ? `/tftp/${urlVariant}/${spell(rnd, mac)}` : `/tftp/${spell(rnd, mac)}`;
    if (rnd() < 0.75) {
      const content = `# op ${i} ${urlVariant || 'legacy'}\nkernel vmlinuz-${i}\n`;
      return { describe: `POST ${path}`, key, method: 'POST', path, form: { pxeconfig: content }, effect: { kind: 'tftp-put', key, variant, mac, content } };
    }
    return { describe: `DELETE ${path}`, key, method: 'DELETE', path, effect: { kind: 'tftp-del', key, variant, mac } };
  }
  const roll = rnd();
  const mac = pick(DHCP_MACS);
  // A create for a MAC that already has a reservation is answered 409 by every smart proxy, and
  // leaves everything as it was.
  if (roll < 0.45) {
    const ip = pick(DHCP_IPS);
    const hostname = `h${i}.example.test`;
    const rec: ReservationView = { ip, hostname, name: hostname };
    if (rnd() < 0.3) Object.assign(rec, { filename: 'pxelinux.0', nextServer: '192.0.2.1' });
    const form: Record<string, string> = { mac: spell(rnd, mac), ...(rec as unknown as Record<string, string>) };
    return { describe: `POST /dhcp/${NETWORK} ${mac} ${ip}`, key: `dhcp:${mac}`, method: 'POST', path: `/dhcp/${NETWORK}`, form, effect: { kind: 'dhcp-put', mac, rec } };
  }
  if (roll < 0.9) {
    const path = `/dhcp/${NETWORK}/mac/${spell(rnd, mac)}`;
    return { describe: `DELETE ${path}`, key: `dhcp:${mac}`, method: 'DELETE', path, effect: { kind: 'dhcp-del', mac } };
  }
  const ip = pick(DHCP_IPS);
  return { describe: `DELETE /dhcp/${NETWORK}/ip/${ip}`, key: `dhcp-ip:${ip}`, method: 'DELETE', path: `/dhcp/${NETWORK}/ip/${ip}`, effect: { kind: 'dhcp-del-ip', ip } };
}

/** Every file a TFTP key can write → that key, to show a file's history. */
const FILE_KEYS = new Map(
  TFTP_MACS.flatMap((mac) =>
    TFTP_VARIANTS.flatMap((v) => {
      const { key, variant } = tftpKey(v, mac);
      return perMacFiles(variantOf(variant)!, mac).map((f) => [f, key] as const);
    }),
  ),
);

function expectedView(model: Model): BackendView {
  const tftp: Record<string, string> = {};
  for (const { variant, mac, content } of model.tftp.values()) {
    for (const f of perMacFiles(variantOf(variant)!, mac)) tftp[f] = content;
  }
  return { tftp, dhcp: Object.fromEntries(model.dhcp) };
}

/** Error answers grouped by status and message shape, to see what the faults caused. */
function errorKinds(answers: Answer[]): string {
  const why: Record<string, number> = {};
  for (const a of answers) {
    if (a.status < 300) continue;
    const k = `${a.status} ${a.body.replace(/saga \d+/g, 'saga N').replace(/[0-9a-fA-F:]{17}/g, 'MAC').slice(0, 120)}`;
    why[k] = (why[k] ?? 0) + 1;
  }
  return Object.entries(why)
    .sort((x, y) => y[1] - x[1])
    .map(([k, n]) => `  ${n} × ${k}`)
    .join('\n');
}

function warnings(daemon: Daemon | undefined): string[] {
  const logs = (daemon?.logs.query(undefined) as { logs: { level: string; message: string }[] } | undefined)?.logs ?? [];
  return logs
    .filter((l) => (l.level === 'WARN' || l.level === 'ERROR') && !/will be caught up/.test(l.message))
    .slice(-15)
    .map((l) => `${l.level} ${l.message.slice(0, 240)}`);
}

type FaultKind = 'refuse' | 'http500' | 'http409' | 'hang' | 'hang_path' | 'apply_then_hang' | 'reset' | 'restart' | 'hang_then_die' | 'rebuilt';
const FAULT_KINDS: FaultKind[] = ['refuse', 'http500', 'http409', 'hang', 'hang_path', 'apply_then_hang', 'reset', 'restart', 'hang_then_die', 'rebuilt'];

interface ActiveFault {
  kind: FaultKind;
  detail: string;
  /** Operations left before it is lifted. */
  ttl: number;
}

describe('fault campaign: success ⇔ applied, all backends identical', () => {
  let sims: ManagedSim[] = [];
  let daemon: Daemon | undefined;
  let http: Client | undefined;
  afterAll(async () => {
    await http?.close();
    await daemon?.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it(`${OPS} operations, up to 3 at once, with random faults on 3 replicas (seed ${SEED})`, async () => {
    const rnd = prng(SEED);
    const base = tempDir('pp-campaign-');
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const feature = '{ policy: replicate, on_backend_down: catch_up, min_success: 2 }';
    const yaml = clusterYaml({
      sims,
      stateDir: join(base, 'state'),
      responseTimeoutMs: 400,
      features: `  tftp: ${feature}\n  dhcp: ${feature}\n`,
      extra: `health_check: { interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 2, base_ejection_ms: 150, max_ejection_ms: 400 }
compensation_retry: { base_ms: 100, max_ms: 1000 }`,
    });
    daemon = new Daemon(parseConfig(yaml), { silent: true });
    await daemon.start();
    http = client(daemon.url('http')!);

    const model: Model = { tftp: new Map(), dhcp: new Map() };
    /** Model keys two or more concurrent writes succeeded on → each one's value: one of them holds. */
    const ambiguous = new Map<string, Value[]>();
    /** The plan as it ran: a function of the seed, written out on failure. */
    const plan: unknown[] = [];
    const planFile = join(base, `plan-${SEED}.json`);
    const answers: Answer[] = [];
    const active = new Map<ManagedSim, ActiveFault>();
    const faultLog: string[] = [];
    let injected = 0;
    let batches = 0;
    let settleMs = 0;
    let opMs = 0;

    const lift = async (sim: ManagedSim) => {
      const f = active.get(sim)!;
      active.delete(sim);
      if (f.kind === 'restart') await sim.startAgain();
      else if (f.kind === 'hang_then_die') {
        // It froze, then died: a new process on its state (what it applied before is kept).
        await sim.proc.kill();
        await sim.startAgain();
      } else if (f.kind === 'rebuilt') {
        // A rebuild takes longer than the health checks: the daemon sees it gone first.
        const backend = daemon!.runtime.backends.get(sim.name)!;
        const end = Date.now() + 5000;
        while (backend.health.state !== 'down' && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
        await sim.startAgain();
      } else await sim.faults({ clear: true });
    };

    const inject = async (i: number) => {
      const free = sims.filter((s) => !active.has(s));
      // At most two faulty backends at a time, and rarely two: with min_success 2 that already
      // refuses every write.
      if (free.length < 2 || (free.length === 2 && rnd() < 0.7)) return;
      const sim = free[Math.floor(rnd() * free.length)]!;
      const kind = FAULT_KINDS[Math.floor(rnd() * FAULT_KINDS.length)]!;
      const method = rnd() < 0.6 ? 'POST' : 'DELETE';
      const pattern = rnd() < 0.5 ? '^/tftp/' : '^/dhcp/';
      // Unanswered calls cost a response timeout each: keep those faults short.
      const ttl = 1 + Math.floor(rnd() * (['hang', 'hang_path', 'apply_then_hang', 'hang_then_die'].includes(kind) ? 2 : 6));
      let detail: string = kind;
      switch (kind) {
        case 'refuse':
          await sim.faults({ refuse: true });
          break;
        case 'http500': {
          // GET too: a snapshot read that fails must stop the write before anything is sent.
          const m = rnd() < 0.25 ? 'GET' : method;
          await sim.faults({ fail_path: { method: m, pattern, status: 500, body: 'injected 500' } });
          detail = `500 on ${m} ${pattern}`;
          break;
        }
        case 'http409':
          await sim.faults({ fail_path: { method, pattern, status: 409, body: 'injected 409' } });
          detail = `409 on ${method} ${pattern}`;
          break;
        case 'hang':
          await sim.faults({ hang: true });
          break;
        case 'hang_path':
        case 'apply_then_hang':
        case 'reset': {
          const action = kind === 'hang_path' ? 'hang' : kind;
          await sim.faults({ fail_path: { method, pattern, action } });
          detail = `${action} on ${method} ${pattern}`;
          break;
        }
        case 'restart':
          // Down for `ttl` operations, then a new process on the same port and state.
          await sim.stop();
          break;
        case 'hang_then_die':
          await sim.faults({ hang: true });
          break;
        case 'rebuilt':
          // Down for `ttl` operations, then back at the same address with nothing: empty TFTP
          // root, no reservations. It must get everything back from the ledger.
          await sim.stop();
          rmSync(join(sim.dir, 'tftp'), { recursive: true, force: true });
          rmSync(join(sim.dir, 'dhcp.json'), { force: true });
          break;
      }
      plan.push({ step: i, fault: { sim: sim.name, detail, ttl } });
      injected++;
      active.set(sim, { kind, detail, ttl });
      faultLog.push(`#${i} ${sim.name}: ${detail} for ${ttl} op(s)`);
    };

    const activeText = () => [...active].map(([s, f]) => `${s.name}:${f.detail}`).join(', ');

    const verify = async (label: string) => {
      for (const s of [...active.keys()]) await lift(s);
      const settling = Date.now();
      await waitSettled(http!, SETTLE_MS, label);
      settleMs += Date.now() - settling;
      const views = await Promise.all(sims.map((s) => s.view()));
      const problems: string[] = [];
      // Keys two concurrent writes both succeeded on: any one of them may hold, the same everywhere.
      for (const [key, candidates] of ambiguous) {
        const probe = (v: BackendView): string => {
          if (key.startsWith('dhcp:')) return JSON.stringify(v.dhcp[key.slice(5)]);
          const c = candidates.find((x) => x !== undefined) as { variant: string; mac: string } | undefined;
          const [variant, mac] = c ? [c.variant, c.mac] : key.slice(5).split('/') as [string, string];
          const found = perMacFiles(variantOf(variant)!, mac).map((f) => v.tftp[f]);
          return JSON.stringify(found.every((x) => x === found[0]) ? found[0] : found);
        };
        const seen = views.map(probe);
        const want = candidates.map((c) => JSON.stringify(c === undefined ? undefined : 'content' in c ? c.content : c));
        if (seen.some((x) => x !== seen[0]) || !want.includes(seen[0]!)) {
          problems.push(`${key} (written concurrently): one of ${want.join(' | ')} expected, ${sims.map((x, n) => `${x.name}=${seen[n]}`).join(' ')}`);
          continue;
        }
        const held = candidates[want.indexOf(seen[0]!)];
        if (key.startsWith('dhcp:')) {
          if (held === undefined) model.dhcp.delete(key.slice(5));
          else model.dhcp.set(key.slice(5), held as ReservationView);
        } else if (held === undefined) model.tftp.delete(key);
        else model.tftp.set(key, held as { variant: string; mac: string; content: string });
      }
      ambiguous.clear();
      if (problems.length) throw new Error(`${label}: backends differ from what Foreman was told:\n${problems.join('\n')}`);
      const expected = expectedView(model);
      const keysOf = (v: BackendView) => [...Object.keys(v.tftp).map((k) => `tftp file ${k}`), ...Object.keys(v.dhcp).map((k) => `dhcp ${k}`)];
      const all = new Set([...keysOf(expected), ...views.flatMap(keysOf)]);
      for (const k of [...all].sort()) {
        const [kind, id] = [k.startsWith('tftp') ? 'tftp' : 'dhcp', k.replace(/^(tftp file|dhcp) /, '')] as const;
        const want = JSON.stringify(expected[kind][id]);
        const got = views.map((v) => JSON.stringify(v[kind][id]));
        if (got.some((g) => g !== want)) {
          const modelKey = kind === 'dhcp' ? `dhcp:${id}` : FILE_KEYS.get(id);
          const history = answers
            .filter((a) => modelKey !== undefined && a.keys.includes(modelKey))
            .slice(-6)
            .map((a) => `    #${a.i} ${a.op} → ${a.status} ${a.body.slice(0, 80)} [faults: ${a.faults}]`);
          // Who touched the key on each backend that differs: live writes, compensations, catch-up.
          const needle = kind === 'dhcp' ? id : (modelKey ?? '').replace(/^tftp:[^/]*\//, '');
          const touched: string[] = [];
          for (const [n, s] of sims.entries()) {
            if (got[n] === want) continue;
            const calls = (await s.proc.calls()).filter((c) => `${c.path} ${c.body}`.toLowerCase().replace(/%3a/g, ':').includes(needle));
            touched.push(`    ${s.name} (since its last start): ${calls.slice(-8).map((c) => `${c.method} ${c.path} [${String(c.headers['x-request-id'])}]`).join(' | ')}`);
          }
          problems.push(`${k}: expected ${want}, ${sims.map((s, n) => `${s.name}=${got[n]}`).join(' ')}\n${history.join('\n')}\n${touched.join('\n')}`);
        }
      }
      if (problems.length) throw new Error(`${label}: backends differ from what Foreman was told:\n${problems.join('\n')}`);
    };

    try {
      let i = 0;
      while (i < OPS) {
        for (const [s, f] of [...active]) if (--f.ttl <= 0) await lift(s);
        batches++;
        if (rnd() < FAULT_RATE) await inject(i + 1);
        // One to three requests at once, often on the same key. A delete by IP (whose keys depend
        // on what is there) goes alone.
        const size = 1 + Math.floor(rnd() * 3);
        const batch: { i: number; op: Op }[] = [];
        for (let n = 0; n < size && i < OPS; n++) {
          const op = nextOp(i + 1, rnd);
          if (op.effect.kind === 'dhcp-del-ip' && batch.length > 0) continue;
          batch.push({ i: ++i, op });
          if (op.effect.kind === 'dhcp-del-ip') break;
        }
        plan.push({ step: batch[0]!.i, ops: batch.map((b) => ({ i: b.i, method: b.op.method, path: b.op.path, form: b.op.form })) });
        const faults = activeText();
        const replies = await Promise.all(
          batch.map(async ({ i: n, op }) => {
            const started = Date.now();
            const r = await http!.send(op.method, op.path, { form: op.form, headers: { 'x-request-id': `campaign-${n}` } });
            opMs += Date.now() - started;
            return { r, ms: Date.now() - started };
          }),
        );
        const byKey = new Map<string, { op: Op; ok: boolean }[]>();
        batch.forEach(({ i: n, op }, k) => {
          const { r, ms } = replies[k]!;
          // Foreman must always get an answer, and a bounded one.
          expect(ms).toBeLessThan(15_000);
          const holders = op.effect.kind === 'dhcp-del-ip' ? [...model.dhcp].filter(([, x]) => x.ip === (op.effect as { ip: string }).ip).map(([m]) => `dhcp:${m}`) : [];
          answers.push({ i: n, op: op.describe, keys: [op.key, ...holders], status: r.status, body: r.body, faults });
          byKey.set(op.key, [...(byKey.get(op.key) ?? []), { op, ok: r.status >= 200 && r.status < 300 }]);
        });
        for (const [key, results] of byKey) {
          const ok = results.filter((x) => x.ok);
          if (ok.length === 1) {
            applyOp(model, ok[0]!.op);
            ambiguous.delete(key);
            // A delete by IP may touch keys still ambiguous: they are settled by the next verify.
          } else if (ok.length > 1) {
            ambiguous.set(key, ok.map((x) => valueOf(x.op)));
            applyOp(model, ok[0]!.op);
          }
        }
        if (batch.some((b) => b.i % Math.ceil(OPS / CHECKPOINTS) === 0) || i === OPS) await verify(`checkpoint after op ${i}`);
      }
    } catch (err) {
      const counts: Record<string, number> = {};
      for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
      const e = err as Error;
      writeFileSync(planFile, JSON.stringify(plan, null, 1));
      e.message =
        `seed ${SEED} (replay: PP_SEED=${SEED}; plan in ${planFile}), ${answers.length} answers ${JSON.stringify(counts)}\n${e.message}\n` +
        `error answers by kind:\n${errorKinds(answers)}\n` +
        `daemon warnings (last 15):\n  ${warnings(daemon).join('\n  ')}\n` +
        `faults injected (last 40):\n  ${faultLog.slice(-40).join('\n  ')}\nlast answers:\n  ${answers
          .slice(-8)
          .map((a) => `#${a.i} ${a.op} → ${a.status} ${a.body.slice(0, 100)}`)
          .join('\n  ')}`;
      throw e;
    }

    const ok = answers.filter((a) => a.status >= 200 && a.status < 300).length;
    // A campaign where (almost) nothing succeeded or nothing failed proves little.
    expect(answers.length).toBe(OPS);
    expect(ok).toBeGreaterThan(OPS / 3);
    expect(OPS - ok).toBeGreaterThan(OPS / 50);
    // A fault is drawn once per batch of one to three operations.
    expect(injected).toBeGreaterThan(batches * FAULT_RATE * 0.4);
    const counts: Record<string, number> = {};
    for (const a of answers) counts[a.status] = (counts[a.status] ?? 0) + 1;
    if (process.env.PP_VERBOSE) process.stdout.write(errorKinds(answers) + '\n');
    process.stdout.write(
      `fault campaign seed ${SEED}: ${OPS} ops, ${injected} faults, answers ${JSON.stringify(counts)}; ${opMs} ms in requests, ${settleMs} ms settling\n`,
    );
  }, Math.max(180_000, OPS * 600));
});
