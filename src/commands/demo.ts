// `proxy-proxy demo`: the daemon with two simulated smart proxies behind it.
import type { Command } from 'commander';
import { action } from './outcome.js';

export function register(program: Command): void {
  program
    .command('demo')
    .description('run the daemon in front of two simulated smart proxies (config/demo.yaml)')
    .action(
      action(async () => {
        await (await import('../demo.js')).runDemo();
        return 'serving' as const;
      }),
    );
}
