// 3. Failover. (a) The first backend refuses connections: what each request pays for trying
// it (ejection and health checks held off, so every request does). (b) The first backend
// accepts and never answers: once it is ejected, does any request still wait for the timeout?
import { startDaemon } from '../daemon-process.js';
import { BenchClient } from '../http-client.js';
import { sleep } from '../proc.js';
import { startSims, type SimProcess } from '../sims.js';
import { median, percentile } from '../stats.js';
import { fmt, markdownTable, type BenchOptions, type SectionResult, type Verdict } from '../types.js';

const ROUTE = '/dhcp';
const RESPONSE_TIMEOUT_MS = 1000;

async function sequential(client: BenchClient, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await client.send('GET', ROUTE);
    if (r.status !== 200) throw new Error(`GET ${ROUTE} answered ${r.status}: ${r.body}`);
    out.push(r.ms);
  }
  return out;
}

async function refused(opts: BenchOptions, a: SimProcess, b: SimProcess) {
  const sizes = opts.quick ? { rounds: 1, perPhase: 30 } : { rounds: 5, perPhase: 200 };
  const daemon = await startDaemon({
    label: 'failover-refused',
    backends: { [a.name]: a.url, [b.name]: b.url },
    features: '  dhcp: { policy: failover }',
    // Neither live ejection nor health checks take the refusing backend out: the worst case.
    extra: 'health_check: { interval_ms: 3600000 }\npassive_ejection: { consecutive_failures: 1000000000 }',
  });
  const client = new BenchClient(daemon.url, 1);
  const up: number[] = [];
  const down: number[] = [];
  const added: number[] = [];
  try {
    await sequential(client, 20);
    for (let round = 1; round <= sizes.rounds; round++) {
      const u = await sequential(client, sizes.perPhase);
      await a.faults({ refuse: true });
      const d = await sequential(client, sizes.perPhase);
      await a.faults({ refuse: false });
      up.push(...u);
      down.push(...d);
      added.push(median(d) - median(u));
    }
    return { up, down, added: median(added) };
  } finally {
    await client.close();
    await daemon.stop();
  }
}

interface Sample {
  at: number;
  ms: number;
}

async function hung(opts: BenchOptions, a: SimProcess, b: SimProcess) {
  const sizes = opts.quick ? { workers: 2, seconds: 8 } : { workers: 4, seconds: 20 };
  await a.faults({ clear: true, refuse: false });
  // Default health checks and passive ejection; only the response timeout is short, to bound the run.
  const daemon = await startDaemon({
    label: 'failover-hung',
    backends: { [a.name]: a.url, [b.name]: b.url },
    features: '  dhcp: { policy: failover }',
    backendExtra: `response_timeout_ms: ${RESPONSE_TIMEOUT_MS}`,
  });
  const client = new BenchClient(daemon.url, sizes.workers + 2);
  const samples: Sample[] = [];
  let ejectedAt: number | undefined;
  try {
    await sequential(client, 20);
    await a.faults({ hang: true });
    const t0 = performance.now();
    const end = t0 + sizes.seconds * 1000;
    const watcher = (async () => {
      while (performance.now() < end) {
        const s = await client.json<{ backends: { name: string; state: string; ejectedUntil: number | null }[] }>('/proxy_proxy/status');
        const st = s.backends.find((x) => x.name === a.name)!;
        if (ejectedAt === undefined && (st.ejectedUntil !== null || st.state !== 'up')) ejectedAt = performance.now();
        await sleep(20);
      }
    })();
    const workers = Array.from({ length: sizes.workers }, async () => {
      while (performance.now() < end) {
        const at = performance.now();
        const r = await client.send('GET', ROUTE);
        if (r.status !== 200) throw new Error(`GET ${ROUTE} answered ${r.status} with ${a.name} hung: ${r.body}`);
        samples.push({ at, ms: r.ms });
      }
    });
    await Promise.all([watcher, ...workers]);
    const after = ejectedAt === undefined ? [] : samples.filter((s) => s.at >= ejectedAt!);
    const before = ejectedAt === undefined ? samples : samples.filter((s) => s.at < ejectedAt!);
    return {
      ejectedAfterMs: ejectedAt === undefined ? NaN : ejectedAt - t0,
      slowBefore: before.filter((s) => s.ms >= RESPONSE_TIMEOUT_MS).length,
      slowAfter: after.filter((s) => s.ms >= RESPONSE_TIMEOUT_MS).length,
      after: after.length,
      p50After: percentile(after.map((s) => s.ms), 50),
      p99After: percentile(after.map((s) => s.ms), 99),
      maxAfter: Math.max(...after.map((s) => s.ms)),
      seconds: sizes.seconds,
      workers: sizes.workers,
    };
  } finally {
    await a.faults({ clear: true });
    await client.close();
    await daemon.stop();
  }
}

export async function failover(opts: BenchOptions): Promise<SectionResult> {
  const [a, b] = (await startSims(['sim-a', 'sim-b'])) as [SimProcess, SimProcess];
  const r = await refused(opts, a, b);
  const h = await hung(opts, a, b);
  const ejected = Number.isFinite(h.ejectedAfterMs);
  const verdicts: Verdict[] = [
    { target: 'first backend refusing: latency added per request', measured: `${fmt(r.added, 3)} ms`, goal: '≤ 5 ms', pass: r.added <= 5 },
    {
      target: 'first backend hung: requests slower than the timeout after ejection',
      measured: ejected ? String(h.slowAfter) : 'never ejected',
      goal: '0',
      pass: ejected && h.slowAfter === 0,
    },
  ];
  return {
    name: 'failover',
    title: 'Failover (GET /dhcp, two simulated backends, the first one failing)',
    table: markdownTable(
      ['case', 'p50 ms', 'p99 ms', 'note'],
      [
        ['both backends up', fmt(median(r.up), 3), fmt(percentile(r.up, 99), 3), 'every request served by the first'],
        ['first refuses connections', fmt(median(r.down), 3), fmt(percentile(r.down, 99), 3), `added p50 ${fmt(r.added, 3)} ms; never ejected here, so every request tries it`],
        [
          'first accepts, never answers (after ejection)',
          fmt(h.p50After, 3),
          fmt(h.p99After, 3),
          ejected
            ? `ejected ${fmt(h.ejectedAfterMs / 1000, 1)} s after it hung, ${h.slowBefore} request(s) waited the ${RESPONSE_TIMEOUT_MS} ms timeout before; ${h.slowAfter} of ${h.after} after (max ${fmt(h.maxAfter, 1)} ms)`
            : `not ejected within ${h.seconds} s`,
        ],
      ],
    ),
    notes: [
      'Refused: health checks and live ejection held off, alternating rounds with the first backend up and refusing; added = median of the per-round p50 differences.',
      `Hung: default health checks (every 2 s, down after 3) and passive ejection (5 failures, 10 s doubling); response_timeout_ms ${RESPONSE_TIMEOUT_MS}; ${h.workers} concurrent clients for ${h.seconds} s; the row shows requests started after ejection.`,
    ],
    verdicts,
    data: { refusedAddedMs: r.added, upP50Ms: median(r.up), refusedP50Ms: median(r.down), hung: h },
  };
}
