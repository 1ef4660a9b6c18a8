// Entry point of the simulated smart proxy: `node dist/src/sim/main.js [options]`, or
// `proxy-proxy sim [options]` through runSimCli. Prints one JSON "listening" line on stdout
// and exits 0 on SIGTERM/SIGINT.
import { parseSimArgs, SIM_USAGE, UsageError } from './options.js';
import { startSim } from './sim.js';
import { executedDirectly } from './executed-directly.js';

export async function runSimCli(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SIM_USAGE + '\n');
    return;
  }
  let options;
  try {
    options = parseSimArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sim: ${err.message} (see --help)\n`);
      process.exit(2);
    }
    throw err;
  }
  const sim = await startSim(options);
  const line: Record<string, unknown> = {
    event: 'listening',
    name: sim.name,
    port: sim.port,
    controlPort: sim.controlPort,
    tftproot: sim.tftproot,
    scheme: sim.apiTls ? 'https' : 'http',
  };
  if (sim.httpsPort !== undefined) line.httpsPort = sim.httpsPort;
  process.stdout.write(JSON.stringify(line) + '\n');

  const shutdown = () => {
    sim.stop().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}


if (executedDirectly(import.meta.url)) {
  runSimCli(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`sim: ${err.message}\n`);
    process.exit(1);
  });
}
