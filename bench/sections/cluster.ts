// 7. Several instances on PostgreSQL (issue 9): what the shared state costs a replicated write
// (the same TFTP write with state in SQLite and in PostgreSQL, interleaved rounds), and what a
// second instance on the same database adds to write throughput. PostgreSQL is a throw-away
// cluster of the bench's own (Debian's server binaries), on loopback, as in the tests.
import { startDaemon, type DaemonProcess } from '../daemon-process.js';
import { createDatabase, startPostgres } from '../postgres.js';
import { BenchClient } from '../http-client.js';
import { configSchema } from '../../src/config/schema.js';
import { startSims } from '../sims.js';
import { median, percentile } from '../stats.js';
import { fmt, markdownTable, type BenchOptions, type SectionResult } from '../types.js';

const POOL_SIZE = 10;

let macSeq = 0;
function nextMac(): string {
  const n = macSeq++ % 65536;
  return `52:54:01:00:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;
}

async function write(client: BenchClient, i: number): Promise<number> {
  const r = await client.send('POST', `/tftp/PXELinux/${nextMac()}`, { pxeconfig: `default linux\n# write ${i}\n` });
  if (r.status !== 200) throw new Error(`TFTP write answered ${r.status}: ${r.body}`);
  return r.ms;
}

/** `total` writes from `concurrency` clients spread over the instances; writes per second. */
async function throughput(clients: BenchClient[], concurrency: number, total: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, w) => {
      const c = clients[w % clients.length]!;
      for (let i = next++; i < total; i = next++) await write(c, i);
    }),
  );
  return total / ((performance.now() - started) / 1000);
}

const TITLE = 'Several instances on PostgreSQL (replicated TFTP write, two simulated backends answering at once)';

/** This build's config knows `state.driver` (the PostgreSQL state driver). */
function hasStateDriver(): boolean {
  const state = (configSchema.properties as Record<string, { properties?: Record<string, unknown> } | undefined>).state;
  return state?.properties?.driver !== undefined;
}

export async function cluster(opts: BenchOptions): Promise<SectionResult> {
  if (!hasStateDriver()) {
    const why = 'not measured: this build has no PostgreSQL state driver (state.driver)';
    opts.log(`cluster: ${why}`);
    return {
      name: 'cluster',
      title: TITLE,
      table: why,
      notes: [],
      verdicts: [{ target: 'PostgreSQL adds to a replicated write (p50)', measured: 'n/a', goal: '≤ 2 ms', pass: undefined }],
      data: {},
    };
  }
  const sizes = opts.quick
    ? { rounds: 1, perRound: 10, warm: 3, tpWrites: 60, concurrency: 8 }
    : { rounds: 5, perRound: 100, warm: 20, tpWrites: 1500, concurrency: 16 };
  const pgCluster = await startPostgres();
  const sims = await startSims(['sim-a', 'sim-b']);
  const backends = Object.fromEntries(sims.map((s) => [s.name, s.url]));
  const features = '  tftp: { policy: replicate }';
  const stateYaml = (url: string) => `state:\n  driver: postgresql\n  url: ${url}\n  pool_size: ${POOL_SIZE}\n`;

  // Latency: one SQLite instance, one PostgreSQL instance, one client each, rounds interleaved.
  const latencyDb = await createDatabase(pgCluster.url, 'bench_latency');
  const targets: { label: string; daemon: DaemonProcess; client: BenchClient; perRound: number[]; all: number[] }[] = [];
  for (const [label, extra] of [
    ['SQLite', ''],
    ['PostgreSQL', stateYaml(latencyDb)],
  ] as const) {
    const daemon = await startDaemon({ label: `cluster-${label}`, backends, features, extra });
    targets.push({ label, daemon, client: new BenchClient(daemon.url, 1), perRound: [], all: [] });
  }
  try {
    for (const t of targets) for (let i = 0; i < sizes.warm; i++) await write(t.client, i);
    for (let round = 1; round <= sizes.rounds; round++) {
      opts.log(`cluster latency round ${round}/${sizes.rounds}`);
      for (const t of targets) {
        const lat: number[] = [];
        for (let i = 0; i < sizes.perRound; i++) lat.push(await write(t.client, i));
        t.perRound.push(median(lat));
        t.all.push(...lat);
      }
    }
  } finally {
    await Promise.all(targets.map((t) => t.client.close()));
    await Promise.all(targets.map((t) => t.daemon.stop()));
  }

  // Throughput: the same concurrent load on one instance, then spread over two on one database.
  const tpDb = await createDatabase(pgCluster.url, 'bench_throughput');
  const instances = [];
  for (const n of [1, 2]) instances.push(await startDaemon({ label: `cluster-tp-${n}`, backends, features, extra: stateYaml(tpDb) }));
  const pools = instances.map((d) => new BenchClient(d.url, sizes.concurrency));
  let one: number;
  let two: number;
  try {
    for (const p of pools) for (let i = 0; i < sizes.warm; i++) await write(p, i);
    opts.log('cluster throughput: one instance');
    one = await throughput(pools.slice(0, 1), sizes.concurrency, sizes.tpWrites);
    opts.log('cluster throughput: two instances');
    two = await throughput(pools, sizes.concurrency, sizes.tpWrites);
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }

  const p50 = (label: string) => median(targets.find((t) => t.label === label)!.perRound);
  const p99 = (label: string) => percentile(targets.find((t) => t.label === label)!.all, 99);
  const added = p50('PostgreSQL') - p50('SQLite');
  return {
    name: 'cluster',
    title: TITLE,
    table: [
      markdownTable(
        ['state', 'p50 ms', 'p99 ms'],
        ['SQLite', 'PostgreSQL'].map((l) => [l, fmt(p50(l)), fmt(p99(l))]),
      ),
      '',
      markdownTable(
        ['instances on one database', `writes/s (${sizes.concurrency} clients)`, '× one instance'],
        [
          [1, fmt(one, 0), '1.00'],
          [2, fmt(two, 0), fmt(two / one)],
        ],
      ),
    ].join('\n'),
    notes: [
      `Latency: one client per instance, writes one after another; ${sizes.rounds} interleaved round(s) of ${sizes.perRound} writes, median of the per-round p50s, p99 over all.`,
      `PostgreSQL: a throw-away cluster on loopback on the same machine (fsync on, as the SQLite file syncs), pool_size ${POOL_SIZE}; a write records its saga and ledger entry there instead of in the SQLite file.`,
      `Throughput: ${sizes.tpWrites} writes to distinct keys from ${sizes.concurrency} concurrent clients, all on one instance, then split evenly over two instances sharing the database. Every process (instances, simulators, PostgreSQL, the bench) shares this machine's cores, so a second instance adds what the cores leave free.`,
    ],
    verdicts: [
      { target: 'PostgreSQL adds to a replicated write (p50)', measured: `${fmt(added)} ms`, goal: '≤ 2 ms', pass: added <= 2 },
    ],
    data: {
      latency: Object.fromEntries(targets.map((t) => [t.label, { p50Ms: p50(t.label), p99Ms: p99(t.label) }])),
      throughput: { oneInstance: one, twoInstances: two, ratio: two / one },
    },
  };
}
