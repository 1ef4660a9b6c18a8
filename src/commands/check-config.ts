// `proxy-proxy check-config FILE`: validates a config file, and by default what it names on this host.
import type { Command } from 'commander';
import { action } from './outcome.js';

export function register(program: Command): void {
  program
    .command('check-config')
    .description('validate a configuration file; exit status 0 when it is good, 1 when not')
    .argument('<file>', 'configuration file')
    .option('--shape-only', 'check the file only, not its certificates and ports on this host')
    .action(
      action(async (file: string, opts: { shapeOnly?: boolean }) => {
        const { checkConfigOnHost } = await import('../config/check-config.js');
        return checkConfigOnHost(file, process.stdout, process.stderr, { hostChecks: !opts.shapeOnly });
      }),
    );
}
