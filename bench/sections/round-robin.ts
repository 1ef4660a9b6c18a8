// 6. Reads spread over backends. Three simulators, each able to serve only RATE requests a
// second (sim --rate-limit), behind proxy-proxy with `order: round_robin` on httpboot (hosts
// booting over HTTP fetch boot loader, kernel and initrd through it); against one simulator of
// the same capacity reached directly, and through proxy-proxy alone. Same wrk settings for all,
// interleaved rounds, medians.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from '../daemon-process.js';
import { BenchClient } from '../http-client.js';
import { sleep } from '../proc.js';
import { startSims } from '../sims.js';
import { median } from '../stats.js';
import { ensureTool } from '../tools.js';
import { fmt, markdownTable, type BenchOptions, type SectionResult } from '../types.js';
import { runWrk } from '../wrk.js';

/**
 * Requests a second one simulator serves. A real smart proxy did about 180; a lower rate keeps
 * the three simulators, the daemon and wrk well within two cores, so that the backends and not
 * the machine set the pace.
 */
const RATE = 50;
const CONNECTIONS = 48;
const FILE = 'grub2/bench-shimx64.efi';
const ROUTE = `/httpboot/${FILE}`;
const GOAL = 2.7;

interface Target {
  name: string;
  url: string;
}

/** Calls proxy-proxy sent to each backend, from its /metrics. */
async function callsPerBackend(base: string, names: string[]): Promise<number[]> {
  const client = new BenchClient(base, 1);
  try {
    const r = await client.send('GET', '/metrics');
    return names.map((n) => {
      const m = new RegExp(`^proxy_proxy_backend_calls_total\\{backend="${n}",phase="send",outcome="200"\\} (\\d+)`, 'm').exec(r.body);
      return m ? Number(m[1]) : 0;
    });
  } finally {
    await client.close();
  }
}

export async function roundRobin(opts: BenchOptions): Promise<SectionResult> {
  const sizes = opts.quick ? { rounds: 1, seconds: 3 } : { rounds: 3, seconds: 8 };
  if (!ensureTool('wrk', 'wrk', opts.install, opts.log)) throw new Error('wrk is not installed (run as root, or apt-get install wrk)');
  const sims = await startSims(['rr-a', 'rr-b', 'rr-c'], ['--rate-limit', String(RATE)]);
  // A boot file on every backend, as TFTP replication would have put it there.
  const body = Buffer.alloc(16 * 1024, 0x5a);
  for (const s of sims) {
    mkdirSync(join(s.tftproot, 'grub2'), { recursive: true });
    writeFileSync(join(s.tftproot, FILE), body);
  }
  const three = await startDaemon({
    label: 'rr-three',
    backends: Object.fromEntries(sims.map((s) => [s.name, s.url])),
    features: '  httpboot: { policy: failover, order: round_robin }',
  });
  const one = await startDaemon({ label: 'rr-one', backends: { [sims[0]!.name]: sims[0]!.url }, features: '  httpboot: { policy: failover }' });
  const targets: Target[] = [
    { name: 'one simulator, directly', url: `${sims[0]!.url}${ROUTE}` },
    { name: 'proxy-proxy, one backend', url: `${one.url}${ROUTE}` },
    { name: 'proxy-proxy, three backends, round_robin', url: `${three.url}${ROUTE}` },
  ];
  const rps = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const before = await callsPerBackend(three.url, sims.map((s) => s.name));
  for (let round = 1; round <= sizes.rounds; round++) {
    opts.log(`round-robin round ${round}/${sizes.rounds}`);
    for (const t of targets) {
      const r = await runWrk(t.url, CONNECTIONS, sizes.seconds);
      rps.get(t.name)!.push(r.rps);
      // Requests still queued at a simulator are served before the next run starts.
      await sleep(1000);
    }
  }
  const after = await callsPerBackend(three.url, sims.map((s) => s.name));
  const sent = after.map((n, i) => n - before[i]!);
  const total = sent.reduce((a, b) => a + b, 0);

  const direct = median(rps.get(targets[0]!.name)!);
  const rows = targets.map((t) => {
    const m = median(rps.get(t.name)!);
    return [t.name, fmt(m, 0), fmt(m / direct, 2)];
  });
  // Round by round (the targets of a round ran back to back), then the median.
  const ones = rps.get(targets[0]!.name)!;
  const ratio = median(rps.get(targets[2]!.name)!.map((v, i) => v / ones[i]!));
  return {
    name: 'round-robin',
    title: 'Reads spread over backends (httpboot, order: round_robin, simulators limited to a fixed rate)',
    table: markdownTable(['path', `req/s @${CONNECTIONS} conns`, '× one simulator'], rows),
    notes: [
      `Each simulator serves at most ${RATE} requests a second (\`--rate-limit ${RATE}\`); requests beyond that wait their turn. GET ${ROUTE} (16 KiB), wrk -t1, ${CONNECTIONS} connections for ${sizes.seconds} s per target per round; ${sizes.rounds} interleaved round(s), medians.`,
      `Share of the three-backend runs per backend (proxy-proxy's own call counts): ${sims.map((s, i) => `${s.name} ${fmt(total ? (100 * sent[i]!) / total : 0, 1)} %`).join(', ')}.`,
    ],
    verdicts: [{ target: 'round_robin reads, 3 backends vs 1', measured: `${fmt(ratio, 2)}×`, goal: `≥ ${GOAL}×`, pass: ratio >= GOAL }],
    data: { rps: Object.fromEntries(rps), share: Object.fromEntries(sims.map((s, i) => [s.name, sent[i]])) },
  };
}
