// `proxy-proxy run` (also with no command at all): the daemon until SIGTERM/SIGINT; SIGHUP reloads.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import { action } from './outcome.js';
import { logFormat } from './options.js';
import { runDaemon, type RunFlags } from './run-daemon.js';

export { runDaemon, type RunFlags } from './run-daemon.js';

export function register(program: Command): void {
  program
    .command('run', { isDefault: true })
    .description('run the daemon (the default command); SIGHUP re-reads the config file')
    .option('-c, --config <file>', 'configuration file', DEFAULT_CONFIG_FILE)
    .option('--log-format <format>', 'json or text (default: json unless stdout is a terminal)', logFormat)
    .action(
      action(async (opts: RunFlags) => {
        await runDaemon(opts);
        return 'serving' as const;
      }),
    );
}
