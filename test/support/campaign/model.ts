// What the backends must hold after the answers Foreman got: per model key the values it may
// hold. One value once the answers settle it (a 2xx write is applied, an error is not); several
// when they cannot: writes to one key answered 2xx together (any one may be last), or a write
// whose answer a kill -9 lost (applied everywhere, or nowhere). A checkpoint reads the backends
// and narrows each key to the one value they hold, which must be one of its candidates.
import { perMacFiles, variantOf } from '../../../src/sim/tftp-layout.js';
import type { BackendView, ReservationView } from '../converge-cluster.js';
import { TFTP_KEYS, type Effect, type Op, type TftpValue } from './plan.js';

export type Value = TftpValue | ReservationView | undefined;

/** Key order never matters: values are compared in this form. */
export function canon(v: unknown): string {
  if (v === undefined) return 'absent';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${k}:${canon(o[k])}`)
    .join(',')}}`;
}

function unique(values: Value[]): Value[] {
  const seen = new Map<string, Value>();
  for (const v of values) seen.set(canon(v), v);
  return [...seen.values()];
}

/** How a request ended, for the model. */
export type Outcome = 'ok' | 'error' | 'lost';

export class Model {
  /** 'tftp:<variant>/<mac>' or 'dhcp:<mac>' → the values it may hold; absent: surely nothing. */
  private readonly keys = new Map<string, Value[]>();

  candidates(key: string): Value[] {
    return this.keys.get(key) ?? [undefined];
  }

  private set(key: string, values: Value[]): void {
    const u = unique(values);
    if (u.length === 1 && u[0] === undefined) this.keys.delete(key);
    else this.keys.set(key, u);
  }

  /** Keys that may hold more than one value. */
  ambiguous(): string[] {
    return [...this.keys].filter(([, v]) => v.length > 1).map(([k]) => k);
  }

  dhcpKeys(): string[] {
    return [...this.keys.keys()].filter((k) => k.startsWith('dhcp:'));
  }

  /**
   * The answers to one batch. Per key: one success and nothing lost → that value; otherwise
   * any succeeded or lost value, and what was there before when nothing succeeded.
   */
  applyBatch(results: { op: Op; outcome: Outcome }[]): void {
    const byKey = new Map<string, { op: Op; outcome: Outcome }[]>();
    for (const r of results) byKey.set(r.op.key, [...(byKey.get(r.op.key) ?? []), r]);
    for (const [key, rs] of byKey) {
      const ok = rs.filter((r) => r.outcome === 'ok');
      const lost = rs.filter((r) => r.outcome === 'lost');
      if (ok.length === 0 && lost.length === 0) continue;
      if (key.startsWith('dhcp-ip:')) {
        // Goes alone in its batch: one request, applied (ok) or maybe applied (lost).
        const ip = (rs[0]!.op.effect as { ip: string }).ip;
        for (const k of this.dhcpKeys()) {
          const before = this.candidates(k);
          const after = before.map((c) => ((c as ReservationView | undefined)?.ip === ip ? undefined : c));
          this.set(k, ok.length > 0 ? after : [...before, ...after]);
        }
        continue;
      }
      const values = [...ok, ...lost].map((r) => valueOf(r.op.effect));
      this.set(key, ok.length === 1 && lost.length === 0 ? values : ok.length > 0 ? values : [...this.candidates(key), ...values]);
    }
  }

  /** What a backend holds for a key, in the model's terms. */
  static held(key: string, view: BackendView): Value {
    if (key.startsWith('dhcp:')) return view.dhcp[key.slice(5)];
    const { variant, mac } = TFTP_KEYS.get(key)!;
    const files = perMacFiles(variantOf(variant)!, mac).map((f) => view.tftp[f]);
    if (files.every((f) => f === undefined)) return undefined;
    // Files of one key disagreeing is itself a difference: shown as such.
    if (files.some((f) => f !== files[0])) return { variant, mac, content: JSON.stringify(files) };
    return { variant, mac, content: files[0]! };
  }

  /**
   * Narrow every key to what the backends hold, where they agree on one of its candidates;
   * returns the keys where they do not.
   */
  settle(views: Map<string, BackendView>): { key: string; candidates: Value[]; held: Record<string, Value> }[] {
    const problems: { key: string; candidates: Value[]; held: Record<string, Value> }[] = [];
    const keys = new Set([...this.keys.keys(), ...TFTP_KEYS.keys(), ...[...views.values()].flatMap((v) => Object.keys(v.dhcp).map((m) => `dhcp:${m}`))]);
    for (const key of keys) {
      const held = Object.fromEntries([...views].map(([name, v]) => [name, Model.held(key, v)]));
      const seen = unique(Object.values(held));
      const cands = this.candidates(key);
      if (seen.length === 1 && cands.some((c) => canon(c) === canon(seen[0]))) this.set(key, seen);
      else problems.push({ key, candidates: cands, held });
    }
    return problems;
  }

  /** Files and reservations every backend must hold once no key is ambiguous. */
  expectedView(): BackendView {
    const view: BackendView = { tftp: {}, dhcp: {} };
    for (const [key, [v, ...more]] of this.keys) {
      if (more.length > 0 || v === undefined) continue;
      if (key.startsWith('dhcp:')) view.dhcp[key.slice(5)] = v as ReservationView;
      else {
        const t = v as TftpValue;
        for (const f of perMacFiles(variantOf(t.variant)!, t.mac)) view.tftp[f] = t.content;
      }
    }
    return view;
  }
}

function valueOf(e: Effect): Value {
  if (e.kind === 'tftp-put') return { variant: e.variant, mac: e.mac, content: e.content };
  if (e.kind === 'dhcp-put') return e.rec;
  return undefined;
}
