// 5. Where proxy-proxy spends its time under the pass-through load: the daemon runs under
// `node --cpu-prof`, wrk drives it at 50 connections, and the profile written at exit is ranked
// by self time.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../cleanup.js';
import { RESPONDER_MAIN } from '../paths.js';
import { spawnServer } from '../proc.js';
import { summarize } from '../profile-summary.js';
import { ensureTool } from '../tools.js';
import { fmt, markdownTable, type BenchOptions, type SectionResult } from '../types.js';
import { runWrk } from '../wrk.js';
import { passThroughDaemon, ROUTE } from './passthrough-targets.js';

export async function profile(opts: BenchOptions): Promise<SectionResult> {
  const seconds = opts.quick ? 2 : 10;
  if (!ensureTool('wrk', 'wrk', opts.install, opts.log)) throw new Error('wrk is not installed');
  const backend = await spawnServer(RESPONDER_MAIN, []);
  const dir = tempDir('cpuprof');
  const daemon = await passThroughDaemon(backend.port, 'profile', 'INFO', ['--cpu-prof', '--cpu-prof-dir', dir]);
  await runWrk(`${daemon.url}${ROUTE}`, 50, 2);
  const r = await runWrk(`${daemon.url}${ROUTE}`, 50, seconds);
  // The profile is written when the process exits (SIGTERM → graceful stop → exit 0).
  await daemon.stop();
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('the daemon wrote no .cpuprofile');
  const s = summarize(join(dir, file), 15);
  const busyMs = s.totalMs - s.idleMs;
  return {
    name: 'profile',
    title: 'CPU profile of proxy-proxy under the pass-through load (self time)',
    table: [
      markdownTable(['function', 'where', 'self ms', '% of busy'], s.functions.map((f) => [`\`${f.name}\``, f.where, fmt(f.ms, 0), fmt(f.pct, 1)])),
      '',
      markdownTable(['area', 'self ms', '% of busy'], s.areas.map((a) => [a.area, fmt(a.ms, 0), fmt(a.pct, 1)])),
    ].join('\n'),
    notes: [
      `${seconds} s at 50 connections under --cpu-prof (${fmt(r.rps, 0)} req/s, slower than unprofiled); profile covers the whole process life: ${fmt(busyMs / 1000, 1)} s busy, ${fmt(s.idleMs / 1000, 1)} s idle.`,
    ],
    verdicts: [],
    data: { functions: s.functions, areas: s.areas },
  };
}
