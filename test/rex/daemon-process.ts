// The built daemon (dist/src/cli.js, `npm run build`) as its own process, for tests that kill it:
// started directly, or under a launcher that holds its listening sockets (socket activation).
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = resolve('dist/src/cli.js');

/** `proxy-proxy run` with JSON logs; lines of stdout and stderr go to `log`. */
export function daemonArgs(config: string): string[] {
  return [CLI, 'run', '--config', config, '--log-format', 'json'];
}

/**
 * Resolves at the next line saying "proxy-proxy started" (bounded); rejects if the process
 * exits first. A launcher that restarts the daemon writes to the same pipe: call it again.
 */
export function waitForStart(child: ChildProcess, log: string[], timeoutMs = 15_000): Promise<void> {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`daemon did not start:\n${log.join('\n')}`)), timeoutMs);
    const onLine = (line: string) => {
      if (!line.includes('proxy-proxy started')) return;
      clearTimeout(timer);
      lines.off('line', onLine);
      child.off('exit', onExit);
      ok();
    };
    const onExit = (code: number | null, signal: string | null) => {
      clearTimeout(timer);
      fail(new Error(`daemon exited with ${code ?? signal}:\n${log.join('\n')}`));
    };
    const lines = lineReader(child, log);
    lines.on('line', onLine);
    child.once('exit', onExit);
  });
}

const readers = new WeakMap<ChildProcess, ReturnType<typeof createInterface>>();

/** One line reader per child, recording every line in `log`. */
function lineReader(child: ChildProcess, log: string[]) {
  let r = readers.get(child);
  if (!r) {
    r = createInterface({ input: child.stdout! });
    r.on('line', (line) => log.push(line));
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    readers.set(child, r);
  }
  return r;
}

export async function startDaemonProcess(config: string, log: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildProcess> {
  const child = spawn(process.execPath, daemonArgs(config), { stdio: ['ignore', 'pipe', 'pipe'], env });
  try {
    await waitForStart(child, log);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  await done;
}
