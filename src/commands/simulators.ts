// `proxy-proxy sim` and `proxy-proxy sim-host`: the simulators parse their own options (they also
// run as scripts of their own), so commander passes every argument through, --help included.
import type { Command } from 'commander';
import { action } from './outcome.js';

function passThrough(cmd: Command): Command {
  return cmd.helpOption(false).allowUnknownOption().allowExcessArguments().passThroughOptions().argument('[options...]');
}

export function registerSim(program: Command): void {
  passThrough(program.command('sim').description('run a simulated smart proxy (sim --help for its options)')).action(
    action(async (args: string[]) => {
      await (await import('../sim/main.js')).runSimCli(args);
      return 'serving' as const;
    }),
  );
}

export function registerSimHost(program: Command): void {
  passThrough(program.command('sim-host').description('run simulated REX pull hosts (sim-host --help for its options)')).action(
    action(async (args: string[]) => {
      await (await import('../sim/host/main.js')).runSimHostCli(args);
      return 'serving' as const;
    }),
  );
}
