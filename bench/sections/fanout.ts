// 2. Replicate fan-out: one TFTP config write replicated to 1, 2, 3 and 5 simulated backends,
// each answering after a fixed 5 ms. A write is a snapshot read and the write on every backend
// in parallel, plus the saga records; the fan-out should cost little more than the slowest one.
import { startDaemon, type DaemonProcess } from '../daemon-process.js';
import { BenchClient } from '../http-client.js';
import { startSims } from '../sims.js';
import { median, percentile } from '../stats.js';
import { fmt, markdownTable, type BenchOptions, type SectionResult } from '../types.js';

const COUNTS = [1, 2, 3, 5];
const DELAY_MS = 5;

let macSeq = 0;
function nextMac(): string {
  const n = macSeq++ % 4096;
  return `52:54:00:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

async function writes(client: BenchClient, n: number, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await client.send('POST', `/tftp/PXELinux/${nextMac()}`, { pxeconfig: `default linux\n# write ${i}\n` });
    if (r.status !== 200) throw new Error(`TFTP write answered ${r.status}: ${r.body}`);
    out.push(r.ms);
  }
}

export async function fanOut(opts: BenchOptions): Promise<SectionResult> {
  const sizes = opts.quick ? { rounds: 1, perRound: 10, warm: 3 } : { rounds: 5, perRound: 60, warm: 15 };
  const sims = await startSims(['sim-a', 'sim-b', 'sim-c', 'sim-d', 'sim-e']);
  await Promise.all(sims.map((s) => s.faults({ delay_ms: DELAY_MS })));

  const daemons: { n: number; daemon: DaemonProcess; client: BenchClient; perRound: number[]; all: number[] }[] = [];
  for (const n of COUNTS) {
    const backends = Object.fromEntries(sims.slice(0, n).map((s) => [s.name, s.url]));
    const daemon = await startDaemon({ label: `fanout-${n}`, backends, features: '  tftp: { policy: replicate }' });
    daemons.push({ n, daemon, client: new BenchClient(daemon.url, 1), perRound: [], all: [] });
  }
  try {
    for (const d of daemons) await writes(d.client, sizes.warm, []);
    for (let round = 1; round <= sizes.rounds; round++) {
      opts.log(`fan-out round ${round}/${sizes.rounds}`);
      for (const d of daemons) {
        const lat: number[] = [];
        await writes(d.client, sizes.perRound, lat);
        d.perRound.push(median(lat));
        d.all.push(...lat);
      }
    }
  } finally {
    await Promise.all(daemons.map((d) => d.client.close()));
  }

  const p50 = (n: number) => median(daemons.find((d) => d.n === n)!.perRound);
  const one = p50(1);
  const rows = daemons.map((d) => [d.n, fmt(p50(d.n)), fmt(percentile(d.all, 99)), fmt(p50(d.n) / one)]);
  const ratio3 = p50(3) / one;
  return {
    name: 'fanout',
    title: `Replicate fan-out (TFTP write, every backend answers after ${DELAY_MS} ms)`,
    table: markdownTable(['backends', 'p50 ms', 'p99 ms', '× 1 backend'], rows),
    notes: [
      `One client, writes one after another; ${sizes.rounds} interleaved round(s) of ${sizes.perRound} writes per backend count, median of the per-round p50s.`,
      'Each write is a snapshot read and the write itself on every backend (both delayed), plus the saga and ledger records in SQLite.',
    ],
    verdicts: [{ target: 'replicate to 3 backends vs 1', measured: `${fmt(ratio3, 3)}×`, goal: '≤ 1.30×', pass: ratio3 <= 1.3 }],
    data: Object.fromEntries(daemons.map((d) => [String(d.n), { p50Ms: p50(d.n), p99Ms: percentile(d.all, 99) }])),
  };
}
