// `proxy-proxy version` (also `--version`).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { action } from './outcome.js';

/** The version in the nearest package.json above this module (from src/, dist/ or an installed tree). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

export function register(program: Command): void {
  program
    .command('version')
    .description('print the version')
    .action(
      action(() => {
        process.stdout.write(`${packageVersion()}\n`);
        return 0;
      }),
    );
}
