// `npm run bench`: proxy-proxy against the alternatives, on this machine, in one run. Prints a
// markdown report with one verdict per target; --write keeps it in BENCHMARKS.md.
import { writeFileSync } from 'node:fs';
import { cleanupAll, installExitHooks, startWatchdog } from './cleanup.js';
import { loadNow, machineInfo } from './machine.js';
import { NOT_BY_DEFAULT, parseArgs, SECTIONS, USAGE, UsageError, type SectionName } from './options.js';
import { BENCHMARKS_MD } from './paths.js';
import { renderResults, verdictLine, writeResults, writeSectionResults } from './report.js';
import { cluster } from './sections/cluster.js';
import { failover } from './sections/failover.js';
import { fanOut } from './sections/fanout.js';
import { footprint } from './sections/footprint.js';
import { passThrough } from './sections/passthrough.js';
import { profile } from './sections/profile.js';
import { rexScale } from './sections/rex-scale.js';
import { roundRobin } from './sections/round-robin.js';
import { soak } from './sections/soak.js';
import type { BenchOptions, SectionResult } from './types.js';

const RUNNERS: Record<SectionName, (o: BenchOptions) => Promise<SectionResult>> = {
  passthrough: passThrough,
  fanout: fanOut,
  failover,
  'round-robin': roundRobin,
  footprint,
  profile,
  'rex-scale': rexScale,
  cluster,
  soak,
};

async function main(): Promise<number> {
  let cli;
  try {
    cli = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n${USAGE}\n`);
    return 64;
  }
  installExitHooks();
  // The soak runs as long as asked, plus set-up and the final checks.
  const soakMs = cli.only?.has('soak') ? ((cli.soakMinutes ?? (cli.quick ? 3 : 30)) + 10) * 60_000 : 0;
  startWatchdog((cli.quick ? 180_000 : 40 * 60_000) + soakMs);
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const opts: BenchOptions = { quick: cli.quick, only: cli.only, haproxy: cli.haproxy, install: cli.install, rexHosts: cli.rexHosts, rexProfile: cli.rexProfile, ...(cli.rexState ? { rexState: cli.rexState } : {}), soakMinutes: cli.soakMinutes, log };

  const loadAtStart = loadNow();
  const results: SectionResult[] = [];
  const failures: string[] = [];
  for (const name of SECTIONS) {
    if (cli.only ? !cli.only.has(name) : NOT_BY_DEFAULT.has(name)) continue;
    log(`${name}…`);
    try {
      results.push(await RUNNERS[name](opts));
    } catch (err) {
      failures.push(`${name}: ${(err as Error).message}`);
      log(`${name} failed: ${(err as Error).stack ?? String(err)}`);
    } finally {
      // Nothing a section started may weigh on the next one.
      await cleanupAll();
    }
  }

  // Read after the sections: they may have installed wrk or haproxy.
  const machine = machineInfo(loadAtStart);
  const report = renderResults(machine, cli.quick ? 'quick (rough numbers)' : 'full', results, failures);
  process.stdout.write(`${report}\n\n`);
  for (const v of results.flatMap((s) => s.verdicts)) process.stdout.write(`${verdictLine(v)}\n`);
  if (cli.json) writeFileSync(cli.json, JSON.stringify({ machine, quick: cli.quick, failures, sections: results }, null, 2));
  if (cli.write && cli.only && failures.length) log('a section failed: BENCHMARKS.md left as it was');
  else if (cli.write && cli.only) {
    writeSectionResults(BENCHMARKS_MD, machine, 'full', results);
    log(`results of ${[...cli.only].join(', ')} merged into BENCHMARKS.md`);
  } else if (cli.write) {
    writeResults(BENCHMARKS_MD, report);
    log(`results written to BENCHMARKS.md`);
  }
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  async (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`);
    await cleanupAll();
    process.exit(1);
  },
);
