// The command line systemd and most operators use: `run` (or no command) with --config and
// --log-format only. cli.ts starts the daemon straight from these flags; loading commander and
// every command first cost about 50 ms of the time to the first answer. Anything else (help,
// other commands, a value that is not right) goes through the full command line, which parses
// it and words its errors.
import { DEFAULT_CONFIG_FILE } from '../config/default-file.js';
import type { RunFlags } from './run-daemon.js';

/** The flags of a plain `run` command line; undefined for anything the full parser must see. */
export function plainRunFlags(argv: readonly string[]): RunFlags | undefined {
  const args = argv[0] === 'run' ? argv.slice(1) : [...argv];
  const flags: RunFlags = { config: DEFAULT_CONFIG_FILE };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    let value: string | undefined;
    if (name !== arg) value = arg.slice(eq + 1);
    else {
      value = args[i + 1];
      // A value that looks like an option is the full parser's to judge.
      if (value === undefined || value.startsWith('-')) return undefined;
      i++;
    }
    if (name === '-c' && name === arg) flags.config = value;
    else if (name === '--config') flags.config = value;
    else if (name === '--log-format' && (value === 'json' || value === 'text')) flags.logFormat = value;
    else return undefined;
    if (value === '') return undefined;
  }
  return flags;
}
