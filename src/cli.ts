#!/usr/bin/env node
// proxy-proxy's entry point. A plain `run` (as systemd starts the daemon) goes straight to the
// daemon; every other command line to the full parser (command-line.ts). Kept small: what this
// file imports loads before anything else can happen.
import { plainRunFlags } from './commands/plain-run.js';
import { executedDirectly } from './sim/executed-directly.js';
import { holdYoungGeneration } from './startup-heap.js';

async function start(argv: string[]): Promise<void> {
  const flags = plainRunFlags(argv);
  if (!flags) {
    const { main } = await import('./command-line.js');
    return main(argv);
  }
  holdYoungGeneration();
  try {
    const { runDaemon } = await import('./commands/run-daemon.js');
    await runDaemon(flags);
  } catch (err) {
    const { report } = await import('./command-line.js');
    const code = report(err);
    process.stdout.write('', () => process.exit(code));
  }
}

if (executedDirectly(import.meta.url)) await start(process.argv.slice(2));
