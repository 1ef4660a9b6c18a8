// 4. Footprint: time from process start to the first answer on /features, and the idle RSS of
// the daemon with every feature configured over two simulated backends; then what that memory
// is made of, part by part (servers/module-rss.ts), and what optional parts would add.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../cleanup.js';
import { daemonYaml, startDaemon, type DaemonSpec } from '../daemon-process.js';
import { OPTIONAL_PARTS } from '../module-parts.js';
import { MODULE_RSS_MAIN, RESPONDER_MAIN } from '../paths.js';
import { rssMiB, sleep, spawnServer, stopChild } from '../proc.js';
import { startSims, type SimProcess } from '../sims.js';
import { median } from '../stats.js';
import { fmt, markdownTable, type BenchOptions, type SectionResult } from '../types.js';

const ALL_FEATURES = ['tftp: { policy: replicate }', 'dhcp: { policy: failover }', 'dns: {}', 'templates: { settings: { template_url: "http://127.0.0.1:8000" } }', 'registration: {}', 'puppetca: {}', 'puppet: {}', 'realm: {}', 'bmc: {}', 'httpboot: {}', 'facts: {}', 'logs: {}']
  .map((f) => `  ${f}`)
  .join('\n');

const RSS_GOAL_MIB = 70;
const START_GOAL_MS = 400;

interface Step {
  step: string;
  rssMiB: number;
}

/** One module-rss run: RSS after each step. */
function moduleRss(config: string, idleMs: number, optional?: string): Promise<Step[]> {
  const args = ['--expose-gc', MODULE_RSS_MAIN, config, String(idleMs), ...(optional ? [optional] : [])];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`module-rss: ${err.message} ${stderr}`));
      resolve(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Step),
      );
    });
  });
}

/** Per step, the median over runs of what it added to the step before. */
function medianDeltas(runs: Step[][]): { step: string; addedMiB: number; rssMiB: number }[] {
  return runs[0]!.map((s, i) => ({
    step: s.step,
    addedMiB: median(runs.map((r) => (i === 0 ? r[0]!.rssMiB : r[i]!.rssMiB - r[i - 1]!.rssMiB))),
    rssMiB: median(runs.map((r) => r[i]!.rssMiB)),
  }));
}

export async function footprint(opts: BenchOptions): Promise<SectionResult> {
  const sizes = opts.quick ? { starts: 1, idleMs: 1000, rssRuns: 1 } : { starts: 5, idleMs: 3000, rssRuns: 3 };
  const sims = (await startSims(['sim-a', 'sim-b'])) as SimProcess[];
  const spec: DaemonSpec = { label: 'footprint', backends: Object.fromEntries(sims.map((s) => [s.name, s.url])), features: ALL_FEATURES, extra: 'foreman_url: http://127.0.0.1:9' };
  const startMs: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < sizes.starts; i++) {
    const d = await startDaemon(spec);
    startMs.push(d.startMs);
    // Idle: health checks running, no traffic.
    await sleep(sizes.idleMs);
    rss.push(rssMiB(d.child.pid!));
    await d.stop();
  }
  // For scale: a bare node:http server's RSS on the same Node.
  const bare = await spawnServer(RESPONDER_MAIN, []);
  await sleep(500);
  const bareRss = rssMiB(bare.child.pid!);
  await stopChild(bare.child);

  // The same configuration, loaded part by part in a fresh process (port 0: any free one).
  const dir = tempDir('footprint-parts');
  const config = join(dir, 'proxy-proxy.yaml');
  writeFileSync(config, daemonYaml(spec, 0, dir));
  const pathRuns: Step[][] = [];
  for (let i = 0; i < sizes.rssRuns; i++) pathRuns.push(await moduleRss(config, sizes.idleMs));
  const parts = medianDeltas(pathRuns);
  const optional: { step: string; addedMiB: number }[] = [];
  for (const name of Object.keys(OPTIONAL_PARTS)) {
    const runs: Step[][] = [];
    for (let i = 0; i < sizes.rssRuns; i++) runs.push(await moduleRss(config, 0, name));
    optional.push(medianDeltas(runs).at(-1)!);
  }

  const start = median(startMs);
  const slowest = Math.max(...startMs);
  const idle = median(rss);
  const partRows = parts.map((p, i) => [i === 0 ? p.step : `+ ${p.step}`, i === 0 ? '—' : fmt(p.addedMiB, 1), fmt(p.rssMiB, 1)]);
  const optionalRows = optional.map((p) => [`(+ ${p.step})`, fmt(p.addedMiB, 1), '—']);
  return {
    name: 'footprint',
    title: 'Footprint (every feature configured, two simulated backends)',
    table: [
      markdownTable(
        ['metric', 'proxy-proxy', 'bare node:http server', 'target'],
        [
          ['idle RSS', `${fmt(idle, 1)} MiB`, `${fmt(bareRss, 1)} MiB`, `≤ ${RSS_GOAL_MIB} MiB`],
          ['process start → first 200 on /features', `${fmt(start, 0)} ms (slowest ${fmt(slowest, 0)} ms)`, '—', `≤ ${START_GOAL_MS} ms, every start`],
        ],
      ),
      '',
      markdownTable(['part, in the order the daemon loads them', 'adds MiB', 'RSS MiB'], [...partRows, ...optionalRows]),
    ].join('\n'),
    notes: [
      `Median of ${sizes.starts} start(s); RSS read from /proc after ${sizes.idleMs / 1000} s idle with health checks running.`,
      `Parts: the daemon's modules imported one after the other in a fresh process, RSS after two full GCs, median of ${sizes.rssRuns} run(s); the last row of the first group starts the daemon in that process. Rows in parentheses are parts a configuration may add (REX, PostgreSQL, …), each measured on top of the daemon's modules in a process of its own; a default daemon does not load them.`,
    ],
    verdicts: [
      { target: 'idle RSS', measured: `${fmt(idle, 1)} MiB`, goal: `≤ ${RSS_GOAL_MIB} MiB`, pass: idle <= RSS_GOAL_MIB },
      { target: 'start to first answer on /features', measured: `${fmt(slowest, 0)} ms (slowest of ${sizes.starts})`, goal: `≤ ${START_GOAL_MS} ms every start`, pass: slowest <= START_GOAL_MS },
    ],
    data: { idleRssMiB: idle, startMs: start, slowestStartMs: slowest, bareNodeRssMiB: bareRss, parts, optional },
  };
}
