// The fault campaign's plan: every request, batch, backend fault and kill -9 of a proxy-proxy
// instance, drawn from the seed alone before anything runs. Nothing in it depends on answers or
// timing, so a seed (or the plan file written on failure) replays a run exactly.
import { perMacFiles, variantOf } from '../../../src/sim/tftp-layout.js';
import type { ReservationView } from '../converge-cluster.js';

/** mulberry32: small, seedable, good enough to pick operations. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const NETWORK = '192.0.2.0';
export const TFTP_MACS = ['00:16:3e:00:00:01', '00:16:3e:00:00:02', '00:16:3e:00:00:03'];
/** URL variants; '' is the legacy form (Syslinux), which shares its key and file with PXELinux. */
export const TFTP_URL_VARIANTS = ['PXELinux', 'PXEGrub2', 'iPXE', ''];
export const DHCP_MACS = ['52:54:00:aa:00:01', '52:54:00:aa:00:02', '52:54:00:aa:00:03', '52:54:00:aa:00:04', '52:54:00:aa:00:05'];
const DHCP_IPS = ['192.0.2.10', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14', '192.0.2.15'];

export interface TftpValue {
  variant: string;
  mac: string;
  content: string;
}

export type Effect =
  | { kind: 'tftp-put'; key: string; variant: string; mac: string; content: string }
  | { kind: 'tftp-del'; key: string; variant: string; mac: string }
  | { kind: 'dhcp-put'; mac: string; rec: ReservationView }
  | { kind: 'dhcp-del'; mac: string }
  | { kind: 'dhcp-del-ip'; ip: string };

/** One request of the plan, as data: what is sent, and what a 2xx answer means. */
export interface Op {
  describe: string;
  /** The model key it writes ('dhcp-ip:<ip>' for a delete by IP, whose keys depend on the state). */
  key: string;
  method: 'POST' | 'DELETE';
  path: string;
  form?: Record<string, string>;
  effect: Effect;
}

export function tftpKey(urlVariant: string, mac: string): { key: string; variant: string } {
  const v = variantOf(urlVariant || 'syslinux')!;
  const base = v === 'Syslinux' ? 'Pxelinux' : v;
  return { key: `tftp:${base.toLowerCase()}/${mac.toLowerCase()}`, variant: base };
}

/** Every TFTP model key → the variant and MAC whose files it writes. */
export const TFTP_KEYS = new Map(
  TFTP_MACS.flatMap((mac) =>
    TFTP_URL_VARIANTS.map((v) => {
      const { key, variant } = tftpKey(v, mac);
      return [key, { variant, mac }] as const;
    }),
  ),
);

/** Every file a TFTP key can write → that key, to show a file's history. */
export const FILE_KEYS = new Map(
  [...TFTP_KEYS].flatMap(([key, { variant, mac }]) => perMacFiles(variantOf(variant)!, mac).map((f) => [f, key] as const)),
);

/** Sometimes upper-case: the ledger key and the files must not depend on the spelling. */
function spell(rnd: () => number, mac: string): string {
  return rnd() < 0.2 ? mac.toUpperCase() : mac;
}

/** The next request of the plan. */
function nextOp(i: number, rnd: () => number): Op {
  const pick = <T,>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  if (rnd() < 0.55) {
    const mac = pick(TFTP_MACS);
    const urlVariant = pick(TFTP_URL_VARIANTS);
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

export type FaultKind = 'refuse' | 'http500' | 'http409' | 'hang' | 'hang_path' | 'apply_then_hang' | 'reset' | 'restart' | 'hang_then_die' | 'rebuilt';
const FAULT_KINDS: FaultKind[] = ['refuse', 'http500', 'http409', 'hang', 'hang_path', 'apply_then_hang', 'reset', 'restart', 'hang_then_die', 'rebuilt'];
/** Unanswered calls cost a response timeout each: these faults stay short. */
const HANGING = new Set<FaultKind>(['hang', 'hang_path', 'apply_then_hang', 'hang_then_die']);

/** A backend fault as data: `method`/`pattern` for the per-path faults. */
export interface FaultSpec {
  kind: FaultKind;
  method: string;
  pattern: string;
}

export interface PlannedOp {
  /** 1-based number of the operation in the run (its request id is campaign-<i>). */
  i: number;
  /** The proxy-proxy instance it is sent through (always a live one). */
  instance: number;
  op: Op;
}

/**
 * kill -9 of an instance while a batch is in flight: `afterMs` after the batch was sent, with
 * `slow` (when set) delaying every answer of one backend meanwhile so that writes are caught
 * half way. The instance comes back on the same state and port after `downFor` more batches
 * (0: at once); until then its share of the requests goes to the other instances.
 */
export interface Kill {
  instance: number;
  afterMs: number;
  slow?: { sim: string; delayMs: number };
  downFor: number;
}

export type Step =
  | { kind: 'fault'; at: number; sim: string; fault: FaultSpec; ttl: number }
  | { kind: 'lift'; sim: string }
  | { kind: 'batch'; ops: PlannedOp[]; kill?: Kill }
  | { kind: 'restart'; instance: number }
  /** Every backend fault lifted, everything settled (by the instances running), then checked. */
  | { kind: 'checkpoint'; after: number };

export interface PlanOptions {
  seed: number;
  ops: number;
  sims: string[];
  /** proxy-proxy instances the requests are split across. */
  instances: number;
  checkpoints: number;
  /** Chance of a backend fault per batch. */
  faultRate: number;
  /** kill -9s: each at the batch that holds an operation number drawn for it. */
  kills: number;
  /** Longest time a killed instance stays away, in batches (one instance: always 0). */
  maxDownFor: number;
}

/**
 * The whole run. Requests and faults come from the seed's own stream, kills from a second
 * stream of the same seed, so that adding kills leaves a seed's requests and faults as they were.
 */
export function drawPlan(o: PlanOptions): Step[] {
  const rnd = prng(o.seed);
  const killRnd = prng((o.seed ^ 0x9e3779b9) >>> 0);
  const steps: Step[] = [];
  const active = new Map<string, number>();
  const down = new Map<number, number>();
  const every = Math.ceil(o.ops / o.checkpoints);
  const killAt = new Set(Array.from({ length: o.kills }, () => 1 + Math.floor(killRnd() * o.ops)));
  let i = 0;
  while (i < o.ops) {
    for (const [sim, ttl] of [...active]) {
      if (ttl - 1 <= 0) {
        active.delete(sim);
        steps.push({ kind: 'lift', sim });
      } else active.set(sim, ttl - 1);
    }
    for (const [instance, left] of [...down]) {
      if (left - 1 <= 0) {
        down.delete(instance);
        steps.push({ kind: 'restart', instance });
      } else down.set(instance, left - 1);
    }
    if (rnd() < o.faultRate) {
      const free = o.sims.filter((s) => !active.has(s));
      // At most two faulty backends at a time, and rarely two: with min_success 2 that already
      // refuses every write.
      if (free.length >= 2 && !(free.length === 2 && rnd() < 0.7)) {
        const sim = free[Math.floor(rnd() * free.length)]!;
        const kind = FAULT_KINDS[Math.floor(rnd() * FAULT_KINDS.length)]!;
        let method = rnd() < 0.6 ? 'POST' : 'DELETE';
        const pattern = rnd() < 0.5 ? '^/tftp/' : '^/dhcp/';
        const ttl = 1 + Math.floor(rnd() * (HANGING.has(kind) ? 2 : 6));
        // A 500 on GET too: a snapshot read that fails must stop the write before anything is sent.
        if (kind === 'http500' && rnd() < 0.25) method = 'GET';
        active.set(sim, ttl);
        steps.push({ kind: 'fault', at: i + 1, sim, fault: { kind, method, pattern }, ttl });
      }
    }
    // One to three requests at once, often on the same key. A delete by IP (whose keys depend
    // on what is there) goes alone.
    const size = 1 + Math.floor(rnd() * 3);
    const ops: PlannedOp[] = [];
    const live = [...Array(o.instances).keys()].filter((n) => !down.has(n));
    for (let n = 0; n < size && i < o.ops; n++) {
      const op = nextOp(i + 1, rnd);
      if (op.effect.kind === 'dhcp-del-ip' && ops.length > 0) continue;
      const instance = live[Math.floor(killRnd() * live.length)]!;
      ops.push({ i: ++i, instance, op });
      if (op.effect.kind === 'dhcp-del-ip') break;
    }
    const batch: Extract<Step, { kind: 'batch' }> = { kind: 'batch', ops };
    // Never the last live instance: someone must be there to answer.
    if (live.length === o.instances && ops.some((b) => killAt.has(b.i))) {
      const instance = live[Math.floor(killRnd() * live.length)]!;
      const afterMs = Math.floor(killRnd() * 300);
      const calm = o.sims.filter((s) => !active.has(s));
      const slow = killRnd() < 0.5 && calm.length > 0 ? { sim: calm[Math.floor(killRnd() * calm.length)]!, delayMs: 150 + Math.floor(killRnd() * 250) } : undefined;
      const downFor = o.instances > 1 ? Math.floor(killRnd() * (o.maxDownFor + 1)) : 0;
      batch.kill = { instance, afterMs, ...(slow ? { slow } : {}), downFor };
      if (downFor > 0) down.set(instance, downFor);
    }
    steps.push(batch);
    if (ops.some((b) => b.i % every === 0) || i === o.ops) {
      steps.push({ kind: 'checkpoint', after: i });
      // A killed instance may stay away past a checkpoint: the survivors settle on their own.
      active.clear();
    }
  }
  return steps;
}

/** Operations in a plan (a replayed plan file sets its own length). */
export function planLength(plan: Step[]): number {
  return plan.reduce((n, s) => n + (s.kind === 'batch' ? s.ops.length : 0), 0);
}
