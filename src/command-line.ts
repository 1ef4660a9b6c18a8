// proxy-proxy command line (cli.ts is its entry point). The commands live in src/commands/, one
// file each; this file turns every failure into one line on stderr and a non-zero exit status,
// never a stack trace.
import { Command, CommanderError } from 'commander';
import { ConfigError } from './config/load.js';
import { COMMANDS } from './commands/index.js';
import { lastOutcome } from './commands/outcome.js';
import { packageVersion } from './commands/version.js';

/** Exit status for a command line that could not be understood (sysexits.h EX_USAGE). */
export const EXIT_USAGE = 64;

export function buildProgram(): Command {
  const program = new Command('proxy-proxy')
    .description('One Foreman smart proxy in front of N real smart proxies: replicate, fail over, pin.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpCommand(true)
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // commander's own messages ("error: unknown option '--x'"): one line that names the command.
      outputError: (message, write) => write(`proxy-proxy: ${message.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}\n`),
    });
  // Commands made with program.command() inherit the output and exit settings above.
  for (const register of COMMANDS) register(program);
  for (const cmd of program.commands) cmd.showSuggestionAfterError();
  return program;
}

/** Writes the line a failure gets and returns the exit status for it. */
export function report(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help and version are not failures; commander has written its own line for the rest.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return EXIT_USAGE;
  }
  if (err instanceof ConfigError) {
    // One problem per line: a file with one mistake gets one line.
    process.stderr.write(`proxy-proxy: invalid configuration:${err.message.includes('\n') ? '\n' : ' '}${err.message}\n`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`proxy-proxy: ${message}\n`);
  return 1;
}

/** `run` is the default command, so commander would read a mistyped command as an argument of it. */
function unknownCommand(program: Command, argv: string[]): string | undefined {
  const first = argv[0];
  if (first === undefined || first.startsWith('-')) return undefined;
  const known = program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
  return known.includes(first) || first === 'help' ? undefined : first;
}

export async function main(argv: string[]): Promise<void> {
  let code: number | 'serving';
  try {
    const program = buildProgram();
    const unknown = unknownCommand(program, argv);
    if (unknown !== undefined) {
      process.stderr.write(`proxy-proxy: unknown command '${unknown}' (see proxy-proxy --help)\n`);
      process.exit(EXIT_USAGE);
    }
    await program.parseAsync(argv, { from: 'user' });
    code = lastOutcome();
  } catch (err) {
    code = report(err);
  }
  if (code !== 'serving') {
    // Let stdout drain (a pipe is not synchronous everywhere) before leaving.
    process.stdout.write('', () => process.exit(code));
  }
}

