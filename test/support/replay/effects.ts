// The recorded side effects, checked on the simulators: tftproot changes on every simulator the
// target replicates TFTP to, DNS records and DHCP reservations on the one that holds them, and
// the requests the stand-in Foreman saw.
import { expect } from '@jest/globals';
import type { SimProcess, SimState } from '../sim-process.js';
import type { Exchange } from './exchange.js';
import type { ReplayRun } from './replay-run.js';

export type Tree = Map<string, string>;
export type States = Map<SimProcess, SimState>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function statesOf(sims: SimProcess[]): Promise<States> {
  return new Map(await Promise.all(sims.map(async (s): Promise<[SimProcess, SimState]> => [s, await s.state()])));
}

/** Files and directories below the tftproot, as the recording's effects describe them. */
export function tree(state: SimState): Tree {
  const m: Tree = new Map();
  for (const d of state.tftpDirs) m.set(d, '<directory>');
  for (const [f, c] of Object.entries(state.tftp)) m.set(f, c);
  return m;
}

function tftpDiff(before: Tree, after: Tree) {
  const created: Record<string, string> = {};
  const changed: Record<string, string> = {};
  const removed: string[] = [];
  for (const [p, c] of after) {
    if (!before.has(p)) created[p] = c;
    else if (before.get(p) !== c) changed[p] = c;
  }
  for (const p of before.keys()) if (!after.has(p)) removed.push(p);
  return { created, changed, removed: removed.sort() };
}

/**
 * How often the stand-in sees each recorded upstream request: a TFTP boot-file download runs
 * on every simulator the write reaches; template relays go through one.
 */
function upstreamCopies(ex: Exchange, run: ReplayRun): number {
  const exception = run.tolerance.exceptions[ex.id]?.upstreamCopies;
  if (exception !== undefined) return exception;
  return ex.id.startsWith('tftp-') ? run.target.tftpSims.length : 1;
}

/** Background downloads: wait until the recorded upstream requests and files are there. */
export async function settle(ex: Exchange, run: ReplayRun): Promise<void> {
  const want = (ex.effects?.upstream_requests?.length ?? 0) * upstreamCopies(ex, run);
  const files = typeof ex.effects?.tftproot === 'object' ? Object.entries(ex.effects.tftproot.created ?? {}) : [];
  for (let i = 0; i < 100; i++) {
    const states = files.length > 0 ? await statesOf(run.target.tftpSims) : new Map<SimProcess, SimState>();
    const filesThere = [...states.values()].every((s) => files.every(([p, c]) => tree(s).get(p) === run.localize(c)));
    if (run.upstream.lines.length >= want && filesThere) break;
    await sleep(50);
  }
  if (ex.request.path === '/tftp/fetch_boot_file') await sleep(150);
}

export function checkEffects(ex: Exchange, run: ReplayRun, before: Map<SimProcess, Tree>, after: States, problems: string[]): void {
  const fx = ex.effects ?? {};
  const { tftpSims, stateSim } = run.target;
  if (fx.tftproot !== undefined) {
    const want =
      fx.tftproot === 'unchanged'
        ? { created: {}, changed: {}, removed: [] }
        : {
            created: Object.fromEntries(Object.entries(fx.tftproot.created ?? {}).map(([k, v]) => [k, run.localize(v)])),
            changed: fx.tftproot.changed ?? {},
            removed: [...(fx.tftproot.removed ?? [])].sort(),
          };
    const diffs = Object.fromEntries(tftpSims.map((s) => [s.name, tftpDiff(before.get(s)!, tree(after.get(s)!))]));
    expect(diffs).toEqual(Object.fromEntries(tftpSims.map((s) => [s.name, want])));
  }
  const state = after.get(stateSim)!;
  for (const [key, answers] of Object.entries(fx.dig ?? {})) {
    const [name, type] = key.split(' ');
    const got = state.dns
      .filter((r) => r.type === type && r.name.toLowerCase() === name.toLowerCase().replace(/\.$/, ''))
      .map((r) => r.value)
      .sort();
    if (JSON.stringify(got) !== JSON.stringify([...answers].sort())) problems.push(`dig ${key}: ${JSON.stringify(got)} != ${JSON.stringify(answers)}`);
  }
  for (const [mac, ip] of Object.entries(fx.dhcpd ?? {})) {
    const got = state.dhcp.reservations.find((r) => r.mac === mac)?.ip ?? null;
    if (got !== ip) problems.push(`dhcpd ${mac}: ${String(got)} != ${String(ip)}`);
  }
  if (fx.upstream_requests !== undefined) {
    const copies = upstreamCopies(ex, run);
    expect(run.upstream.lines).toEqual(fx.upstream_requests.flatMap((l) => Array<string>(copies).fill(run.localize(l))));
  }
}
