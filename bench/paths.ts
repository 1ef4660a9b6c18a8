// Where the built files the bench starts live, found from this file so the bench runs from any
// working directory (it is itself compiled to dist/bench/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the bench');
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = repoRoot();
export const DAEMON_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli.js');
export const RESPONDER_MAIN = join(REPO_ROOT, 'dist', 'bench', 'servers', 'responder.js');
export const FORWARDER_MAIN = join(REPO_ROOT, 'dist', 'bench', 'servers', 'forwarder.js');
export const MODULE_RSS_MAIN = join(REPO_ROOT, 'dist', 'bench', 'servers', 'module-rss.js');
export const SIM_HOST_MAIN = join(REPO_ROOT, 'dist', 'src', 'sim', 'host', 'main.js');
export const TLS_FLOOR_MAIN = join(REPO_ROOT, 'dist', 'bench', 'servers', 'tls-floor.js');
export const BENCHMARKS_MD = join(REPO_ROOT, 'BENCHMARKS.md');
export const BENCH_MAIN = join(REPO_ROOT, 'dist', 'bench', 'run.js');
