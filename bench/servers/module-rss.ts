// What the daemon's memory is made of: loads its parts one after the other in a fresh process
// and prints the resident set size after each (after two full GCs), as JSON lines
// {"step": label, "rssMiB": N}. Then, when asked, one optional part that a configuration may
// load on top (REX, PostgreSQL, …), and last the daemon started from CONFIG and left idle.
// Usage: node --expose-gc module-rss.js CONFIG IDLE_MS [OPTIONAL]
import { setTimeout as sleep } from 'node:timers/promises';
import { OPTIONAL_PARTS } from '../module-parts.js';

const [config, idleArg, optional] = process.argv.slice(2);
const idleMs = Number(idleArg ?? 3000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !config) {
  process.stderr.write('usage: node --expose-gc module-rss.js CONFIG IDLE_MS [OPTIONAL]\n');
  process.exit(64);
}

function report(step: string): void {
  gc!();
  gc!();
  process.stdout.write(`${JSON.stringify({ step, rssMiB: process.memoryUsage().rss / 1048576 })}\n`);
}

report('Node alone');
await import('yaml');
report('YAML parser');
const { loadConfig } = await import('../../src/config/load.js');
const cfg = loadConfig(config);
report('configuration: schema, feature modules, validation');
await import('../../src/commands/run-daemon.js');
report('`run` straight from the entry point (commander and the other commands are not loaded)');
await import('../../src/state/open-store.js');
report('SQLite state (better-sqlite3)');
const { Daemon } = await import('../../src/daemon.js');
report('the daemon: request path, runtime, convergence, operations');
if (optional) {
  const load = OPTIONAL_PARTS[optional];
  if (!load) throw new Error(`unknown optional part ${optional}`);
  await load();
  report(optional);
} else {
  const daemon = new Daemon(cfg, { silent: true });
  await daemon.start();
  await sleep(idleMs);
  report(`started, ${idleMs / 1000} s idle: listeners, state file, health checks, winston (loaded a second after listening)`);
  await daemon.stop();
}
process.exit(0);
