// The daemon until SIGTERM/SIGINT; SIGHUP reloads. Apart from the `run` command's registration
// so that the entry point can start it without loading the command line's parser (cli.ts).
import { loadConfig } from '../config/load.js';
import type { Daemon } from '../daemon.js';
import { holdYoungGeneration, releaseYoungGeneration } from '../startup-heap.js';

export interface RunFlags {
  config: string;
  logFormat?: 'json' | 'text';
}

export async function runDaemon(flags: RunFlags): Promise<Daemon> {
  holdYoungGeneration();
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
  // winston, loaded a moment after the daemon listens, is the last of the start-up's modules.
  await daemon.logger.attachSoon();
  releaseYoungGeneration();
  return daemon;
}
