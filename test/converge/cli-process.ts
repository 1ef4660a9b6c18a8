// Runs the built command line (dist/src/cli.js) as its own process, as an operator would.
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { SIM_MAIN } from '../support/sim-process.js';

export const CLI_MAIN = join(dirname(SIM_MAIN), '..', 'cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], timeoutMs = 20_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_MAIN, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
