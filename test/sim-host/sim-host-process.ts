// Starts the simulated hosts (dist/src/sim/host/main.js, built by `npm run build`) as a child
// process with --json-events and collects the event lines.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HostEvent {
  event: string;
  host?: string;
  job?: string;
  t: number;
  [field: string]: unknown;
}

export interface SimHostProcess {
  child: ChildProcess;
  events: HostEvent[];
  /** Resolves with the first event (already seen or future) matching; bounded. */
  waitFor(what: string, match: (e: HostEvent) => boolean, timeoutMs?: number): Promise<HostEvent>;
  /** Resolves once `count` events match. */
  waitForCount(what: string, match: (e: HostEvent) => boolean, count: number, timeoutMs?: number): Promise<HostEvent[]>;
  /** SIGTERM; resolves with the exit code (SIGKILL after 5 s). */
  stop(): Promise<number | null>;
  stderr(): string;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const SIM_HOST_MAIN = join(repoRoot(), 'dist', 'src', 'sim', 'host', 'main.js');

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Starts the process and waits for its "ready" event (every host subscribed). */
export async function startSimHostProcess(args: string[], readyTimeoutMs = 15_000): Promise<SimHostProcess> {
  const child = spawn(process.execPath, [SIM_HOST_MAIN, '--json-events', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const events: HostEvent[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buffered += d;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        events.push(JSON.parse(line) as HostEvent);
      } catch {
        stderr += `[unparsable stdout] ${line}\n`;
      }
    }
    for (const l of [...listeners]) l();
  });

  const waitForCount = (what: string, match: (e: HostEvent) => boolean, count: number, timeoutMs = 15_000) =>
    new Promise<HostEvent[]>((resolve, reject) => {
      const check = () => {
        const found = events.filter(match);
        if (found.length >= count) {
          cleanup();
          resolve(found);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup();
          reject(new Error(`sim-host exited while waiting for ${what}: ${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${events.filter(match).length}/${count}); stderr: ${stderr}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        listeners.delete(check);
        child.off('exit', check);
      };
      listeners.add(check);
      child.on('exit', check);
      check();
    });

  const proc: SimHostProcess = {
    child,
    events,
    waitFor: async (what, match, timeoutMs) => (await waitForCount(what, match, 1, timeoutMs))[0]!,
    waitForCount,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
      clearTimeout(timer);
      return child.exitCode;
    },
    stderr: () => stderr,
  };
  try {
    await proc.waitFor('ready', (e) => e.event === 'ready', readyTimeoutMs);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return proc;
}
