// 1. Pass-through: the same fast backend reached directly, through HAProxy, through a bare Node
// forwarder and through proxy-proxy. Same wrk settings for all, interleaved rounds, medians.
import { RESPONDER_MAIN } from '../paths.js';
import { cpuMs, rssMiB, spawnServer } from '../proc.js';
import { median } from '../stats.js';
import { ensureTool } from '../tools.js';
import { fmt, markdownTable, type BenchOptions, type SectionResult, type Verdict } from '../types.js';
import { runWrk } from '../wrk.js';
import { startTargets, type Target } from './passthrough-targets.js';

const CONNECTIONS = 50;

interface Samples {
  rps: number[];
  cpuUsPerReq: number[];
  p50: number[];
  p99: number[];
}

async function loaded(t: Target, seconds: number, s: Samples): Promise<void> {
  const before = t.pid ? cpuMs(t.pid) : 0;
  const r = await runWrk(t.url, CONNECTIONS, seconds);
  s.rps.push(r.rps);
  if (t.pid) s.cpuUsPerReq.push(((cpuMs(t.pid) - before) * 1000) / r.requests);
}

async function single(t: Target, seconds: number, s: Samples): Promise<void> {
  const r = await runWrk(t.url, 1, seconds);
  s.p50.push(r.p50Ms);
  s.p99.push(r.p99Ms);
}

export async function passThrough(opts: BenchOptions): Promise<SectionResult> {
  const sizes = opts.quick ? { rounds: 1, loadS: 1, singleS: 1, warmS: 1 } : { rounds: 5, loadS: 5, singleS: 3, warmS: 2 };
  if (!ensureTool('wrk', 'wrk', opts.install, opts.log)) throw new Error('wrk is not installed (run as root, or apt-get install wrk)');
  const withHaproxy = opts.haproxy && ensureTool('haproxy', 'haproxy', opts.install, opts.log);
  if (opts.haproxy && !withHaproxy) opts.log('HAProxy unavailable: compared without it');

  const backend = await spawnServer(RESPONDER_MAIN, []);
  const targets = await startTargets(backend.port, withHaproxy);
  const samples = new Map<string, Samples>(targets.map((t) => [t.name, { rps: [], cpuUsPerReq: [], p50: [], p99: [] }]));

  // JIT, pools and resolver caches warm before anything counts.
  for (const t of targets) await runWrk(t.url, CONNECTIONS, sizes.warmS);
  for (let round = 1; round <= sizes.rounds; round++) {
    opts.log(`pass-through round ${round}/${sizes.rounds}`);
    for (const t of targets) await loaded(t, sizes.loadS, samples.get(t.name)!);
    for (const t of targets) await single(t, sizes.singleS, samples.get(t.name)!);
  }

  const m = (name: string) => {
    const s = samples.get(name);
    if (!s) return undefined;
    return { rps: median(s.rps), cpu: median(s.cpuUsPerReq), p50: median(s.p50), p99: median(s.p99) };
  };
  const direct = m('direct')!;
  const rows = targets.map((t) => {
    const r = m(t.name)!;
    return [
      t.name,
      fmt(r.rps, 0),
      fmt(r.rps / direct.rps),
      t.pid ? fmt(r.cpu, 0) : '—',
      fmt(r.p50, 3),
      fmt(r.p99, 3),
      t.name === 'direct' ? '—' : fmt(r.p50 - direct.p50, 3),
    ];
  });
  const pp = m('proxy-proxy')!;
  const quiet = m('proxy-proxy, no request log')!;
  const hap = m('HAProxy');
  const ppDaemon = targets.find((t) => t.name === 'proxy-proxy')!.daemon!;
  const rssAfterLoad = rssMiB(ppDaemon.child.pid!);

  // Ratios are taken round by round (the targets of a round ran back to back) and their median
  // kept: on a shared machine the load drifts between rounds more than within one.
  const ratio = (a: string, b: string) => {
    const x = samples.get(a)!.rps;
    const y = samples.get(b)!.rps;
    return median(x.map((v, i) => v / y[i]!));
  };
  const perRound = (a: string, b: string) => samples.get(a)!.rps.map((v, i) => `${fmt(v / samples.get(b)!.rps[i]!, 2)}×`).join(', ');
  const fwd = m('bare Node forwarder')!;
  const vsFwd = ratio('proxy-proxy', 'bare Node forwarder');
  const vsHap = hap ? ratio('proxy-proxy', 'HAProxy') : undefined;
  // What the request log (on by default) takes of proxy-proxy's req/s, against log_level WARN.
  const logCost = (1 - ratio('proxy-proxy', 'proxy-proxy, no request log')) * 100;
  const logCpuUs = pp.cpu - quiet.cpu;
  const verdicts: Verdict[] = [
    { target: 'req/s vs bare Node forwarder', measured: `${fmt(vsFwd, 3)}×`, goal: '≥ 0.90×', pass: vsFwd >= 0.9 },
    vsHap !== undefined
      ? { target: 'req/s vs HAProxy', measured: `${fmt(vsHap, 3)}×`, goal: '≥ 0.30×', pass: vsHap >= 0.3 }
      : { target: 'req/s vs HAProxy', measured: 'not run', goal: '≥ 0.30×', pass: undefined },
    { target: 'p50 added over direct, 1 connection', measured: `${fmt(pp.p50 - direct.p50, 3)} ms`, goal: '≤ 0.5 ms', pass: pp.p50 - direct.p50 <= 0.5 },
    { target: 'request log cost (share of req/s)', measured: `${fmt(logCost, 1)} %`, goal: '≤ 5 %', pass: logCost <= 5 },
  ];

  return {
    name: 'passthrough',
    title: 'Pass-through (GET /dhcp, failover feature, trusted_hosts auth)',
    table: markdownTable(['path to the backend', `req/s @${CONNECTIONS} conns`, '× direct', 'proxy CPU µs/req', 'p50 ms @1 conn', 'p99 ms @1 conn', 'p50 added ms'], rows),
    notes: [
      `wrk -t1, ${CONNECTIONS} connections for ${sizes.loadS} s and 1 connection for ${sizes.singleS} s per target per round; ${sizes.rounds} interleaved round(s), medians; the verdicts' ratios are medians of the ratios within each round.`,
      `Request log (JSON lines to a file, log_level INFO) costs ${fmt(logCost, 1)} % of proxy-proxy's req/s here (against log_level WARN), ${fmt(logCpuUs, 1)} µs of CPU per request.`,
      `Round by round, proxy-proxy vs the bare forwarder: ${perRound('proxy-proxy', 'bare Node forwarder')}; with the log vs without: ${perRound('proxy-proxy', 'proxy-proxy, no request log')}. By CPU per request (steadier than req/s on a shared machine): ${fmt(fwd.cpu / pp.cpu, 2)}× the forwarder's throughput per core.`,
      `proxy-proxy RSS after the load: ${fmt(rssAfterLoad, 1)} MiB.`,
      'CPU µs/req: user+system time of the proxying process (all threads) over the 50-connection runs.',
    ],
    verdicts,
    data: Object.fromEntries([...samples.entries()].map(([k, v]) => [k, { ...m(k), rounds: v.rps }])),
  };
}
