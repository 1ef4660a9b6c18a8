#!/usr/bin/env node
// proxy-proxy command line: run the daemon, check a config, ask the running daemon for its status
// or a drift check, run the simulated smart proxy, or start the demo (two simulated backends
// behind the daemon).
import { fileURLToPath } from 'node:url';
import { loadConfig, ConfigError } from './config/load.js';
import type { Daemon } from './daemon.js';
// Sub-commands are loaded when used: the daemon should not pay (memory, start-up time) for the
// simulators, Express or the CLI clients.

export const DEFAULT_CONFIG = '/etc/proxy-proxy/proxy-proxy.yaml';

const USAGE = `usage: proxy-proxy [run] [--config FILE] [--log-format json|text]
       proxy-proxy check-config [--shape-only] FILE   (--shape-only: skip certificate and port checks)
       proxy-proxy schema                 (the config's JSON schema, for editors)
       proxy-proxy config-reference       (docs/configuration.md)
       proxy-proxy mosquitto-config [--config FILE] [--acl] [--port N] [--acl-file F] [--broker-cert F --broker-key F]
       proxy-proxy drift [--config FILE | --url URL] [--repair] [--prune] [--json]
       proxy-proxy status [--config FILE | --url URL] [--json]
       proxy-proxy demo
       proxy-proxy sim [--port N] [--control-port N] [--tftproot DIR] …
       proxy-proxy sim-host --broker URL --cert-dir DIR [--hosts N] …
       proxy-proxy version`;

interface RunFlags {
  config: string;
  logFormat?: 'json' | 'text';
}

function parseRunFlags(args: string[]): RunFlags {
  const flags: RunFlags = { config: DEFAULT_CONFIG };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--config' || a === '-c') flags.config = value();
    else if (a.startsWith('--config=')) flags.config = a.slice('--config='.length);
    else if (a === '--log-format') {
      const f = value();
      if (f !== 'json' && f !== 'text') throw new UsageError('--log-format must be json or text');
      flags.logFormat = f;
    } else throw new UsageError(`unknown argument: ${a}`);
  }
  return flags;
}

class UsageError extends Error {}

/** Runs the daemon until SIGTERM/SIGINT; SIGHUP reloads the config file. */
export async function runDaemon(flags: RunFlags): Promise<Daemon> {
  const config = loadConfig(flags.config);
  const { Daemon } = await import('./daemon.js');
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case 'run':
      await runDaemon(parseRunFlags(rest));
      return -1;
    case 'check-config': {
      const shapeOnly = rest.includes('--shape-only');
      const files = rest.filter((a) => a !== '--shape-only');
      if (files.length !== 1) throw new UsageError('check-config needs exactly one FILE');
      const { checkConfigOnHost } = await import('./config/check-config.js');
      return checkConfigOnHost(files[0]!, process.stdout, process.stderr, { hostChecks: !shapeOnly });
    }
    case 'drift': {
      const { driftCommand, parseOpsFlags } = await import('./ops/ops-commands.js');
      return driftCommand(parseOpsFlags(rest, 'drift', DEFAULT_CONFIG, (m) => new UsageError(m)), process.stdout, process.stderr);
    }
    case 'status': {
      const { statusCommand, parseOpsFlags } = await import('./ops/ops-commands.js');
      return statusCommand(parseOpsFlags(rest, 'status', DEFAULT_CONFIG, (m) => new UsageError(m)), process.stdout, process.stderr);
    }
    case 'schema': {
      const { configSchema } = await import('./config/schema.js');
      process.stdout.write(`${JSON.stringify(configSchema, null, 2)}\n`);
      return 0;
    }
    case 'mosquitto-config': {
      const { mosquittoConfigCommand } = await import('./rex/mosquitto-config-command.js');
      return mosquittoConfigCommand(rest, DEFAULT_CONFIG, (m) => new UsageError(m));
    }
    case 'config-reference':
      process.stdout.write((await import('./config/reference-doc.js')).configurationReference());
      return 0;
    case 'demo':
      await (await import('./demo.js')).runDemo();
      return -1;
    case 'sim':
      await (await import('./sim/main.js')).runSimCli(rest);
      return -1;
    case 'sim-host':
      await (await import('./sim/host/main.js')).runSimHostCli(rest);
      return -1;
    case 'version':
    case '--version':
      process.stdout.write(`${await packageVersion()}\n`);
      return 0;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      if (command.startsWith('-')) {
        await runDaemon(parseRunFlags(argv));
        return -1;
      }
      throw new UsageError(`unknown command: ${command}`);
  }
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = new URL('../../package.json', import.meta.url);
  return (JSON.parse(await readFile(pkg, 'utf8')) as { version: string }).version;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === (await import('node:fs')).realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => {
      if (code >= 0) process.exit(code);
    },
    (err: unknown) => {
      if (err instanceof UsageError) process.stderr.write(`proxy-proxy: ${err.message}\n${USAGE}\n`);
      else if (err instanceof ConfigError) process.stderr.write(`proxy-proxy: invalid configuration, not starting:\n${err.message}\n`);
      else process.stderr.write(`proxy-proxy: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(err instanceof UsageError ? 64 : 1);
    },
  );
}
