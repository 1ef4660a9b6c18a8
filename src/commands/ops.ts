// `proxy-proxy drift`, `status`, `drain`, `maintenance`, `enable`: ask the running daemon over its runtime API.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE } from '../config/load.js';
import type { BackendAction, OpsFlags } from '../ops/ops-commands.js';
import { InvalidArgumentError } from 'commander';
import { action } from './outcome.js';

interface Flags {
  config?: string;
  url?: string;
  json?: boolean;
  repair?: boolean;
  prune?: boolean;
}

function daemonOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', `find the daemon from this config (default: ${DEFAULT_CONFIG_FILE}); with --url it supplies the client certificate`)
    .option('--url <url>', "the daemon's base URL")
    .option('--json', 'print JSON');
}

function opsFlags(f: Flags): OpsFlags {
  return { config: f.config ?? DEFAULT_CONFIG_FILE, configGiven: f.config !== undefined, url: f.url, json: !!f.json, repair: !!f.repair, prune: !!f.prune };
}

export function registerDrift(program: Command): void {
  daemonOptions(
    program
      .command('drift')
      .description('compare every backend with what it should hold; exit status 0 in step, 1 drift left, 2 no answer, 3 no drift found but a backend could not be verified (unreadable, or still catching up)'),
  )
    .option('--repair', 'bring backends in step (add what is missing, fix what differs, re-send keys no API can read back)')
    .option('--prune', 'also remove what a backend holds that it should not (implies --repair)')
    .action(
      action(async (f: Flags) => {
        const { driftCommand } = await import('../ops/ops-commands.js');
        return driftCommand(opsFlags(f), process.stdout, process.stderr);
      }),
    );
}

export function registerStatus(program: Command): void {
  daemonOptions(program.command('status').description("print the running daemon's backends, features, sagas and remote-execution spool; exit status 2 if it does not answer")).action(
    action(async (f: Flags) => {
      const { statusCommand } = await import('../ops/ops-commands.js');
      return statusCommand(opsFlags(f), process.stdout, process.stderr);
    }),
  );
}

const BACKEND_ACTIONS: Record<BackendAction, string> = {
  drain: 'send no new requests to a backend',
  maintenance: 'send no requests and no health checks to a backend',
  enable: 'put a drained or maintenance backend back in service',
};

/** drain, maintenance, enable: operational state, not persisted; every instance of a cluster. */
export function registerBackendOps(program: Command): void {
  for (const [name, what] of Object.entries(BACKEND_ACTIONS) as [BackendAction, string][]) {
    daemonOptions(
      program
        .command(name)
        .argument('<backend>', 'the backend, as named in the config')
        .description(`${what} (until enable, a restart or a reload; every live instance of a cluster); exit status 1 if some instance did not apply it, 2 no answer`),
    ).action(
      action(async (backend: string, f: Flags) => {
        const { backendCommand } = await import('../ops/ops-commands.js');
        return backendCommand(name, { ...opsFlags(f), backend }, process.stdout, process.stderr);
      }),
    );
  }
}

function positiveInteger(what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${what} must be a whole number of seconds, at least 1`);
    return n;
  };
}

/** resync: the whole ledger to one backend again, with progress until it is caught up. */
export function registerResync(program: Command): void {
  daemonOptions(
    program
      .command('resync')
      .argument('<backend>', 'the backend, as named in the config')
      .description(
        'push the whole desired-state ledger (default menus and boot files included) to one backend again, e.g. after it was rebuilt, and follow its progress; exit status 0 done, 1 not done in time (it goes on in the daemon), 2 no answer or refused',
      ),
  )
    .option('--feature <name>', 'only this replicated feature (default: every replicated feature the backend serves)')
    .option('--no-wait', 'start the resync and return')
    .option('--timeout <seconds>', 'stop following after this long (the resync goes on)', positiveInteger('--timeout'), 3600)
    .action(
      action(async (backend: string, f: Flags & { feature?: string; wait: boolean; timeout: number }) => {
        const { resyncCommand } = await import('../ops/ops-commands.js');
        return resyncCommand(
          { ...opsFlags(f), backend, feature: f.feature, wait: f.wait, timeoutMs: f.timeout * 1000, pollMs: 500 },
          process.stdout,
          process.stderr,
        );
      }),
    );
}
