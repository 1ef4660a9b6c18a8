// `proxy-proxy run` (also with no command at all): the daemon until SIGTERM/SIGINT; SIGHUP reloads.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import type { Daemon } from '../daemon.js';
import { action } from './outcome.js';
import { logFormat } from './options.js';

export interface RunFlags {
  config: string;
  logFormat?: 'json' | 'text';
}

export async function runDaemon(flags: RunFlags): Promise<Daemon> {
  const config = loadConfig(flags.config);
  // Loaded when used: the other commands should not pay for the daemon's modules.
  const { Daemon } = await import('../daemon.js');
  const daemon = new Daemon(config, { logFormat: flags.logFormat });
  await daemon.start();
  const stop = (signal: string) => {
    daemon.logger.info(`${signal} received`);
    void daemon.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void daemon.reload());
  return daemon;
}

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
