// `proxy-proxy state migrate --to URL`: moves an instance's SQLite state into an empty
// PostgreSQL database, before switching the configuration to state.driver: postgresql.
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load.js';
import { action } from './outcome.js';

export function register(program: Command): void {
  const state = program.command('state').description('the durable state (saga log, ledger, REX spool)');
  state
    .command('migrate')
    .description('copy the SQLite state in state_dir into an empty PostgreSQL database (stop the daemon first)')
    .requiredOption('--to <url>', 'postgresql://… of the empty target database')
    .option('-c, --config <file>', 'configuration file (for state_dir)', DEFAULT_CONFIG_FILE)
    .option('--state-dir <dir>', 'the SQLite state directory, instead of the config file')
    .action(
      action(async (opts: { to: string; config: string; stateDir?: string }) => {
        if (!/^postgres(ql)?:\/\//.test(opts.to)) {
          process.stderr.write(`--to must be a postgresql:// URL, not ${JSON.stringify(opts.to)}\n`);
          return 2;
        }
        const { copyStateToPostgres } = await import('../state/copy-to-postgres.js');
        try {
          const dir = opts.stateDir ?? loadConfig(opts.config).state_dir;
          const r = await copyStateToPostgres(dir, opts.to);
          const moved = Object.entries(r.rows).map(([t, n]) => `${t} ${n}`).join(', ');
          process.stdout.write(
            `copied the state in ${dir} to ${r.target}: ${moved}; ${r.unfinishedSagas} unfinished saga(s) are settled by the first instance that starts on it; ledger version ${r.ledgerVersion}\n` +
              'next: set state: { driver: postgresql, url: … } in the configuration and start the daemon\n',
          );
          return 0;
        } catch (err) {
          process.stderr.write(`state migrate: ${(err as Error).message.split('\n')[0]}\n`);
          return 1;
        }
      }),
    );
}
