// The built daemon (dist/src/cli.js, `npm run build`) as its own process, from a YAML file, as
// systemd runs it: JSON log lines on stdout, collected for the test to read.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const CLI = resolve('dist/src/cli.js');

export interface DaemonProcess {
  child: ChildProcess;
  /** Listener URLs by scheme, from the "listening on" lines. */
  urls: { http?: string; https?: string };
  /** Every stdout line so far (JSON log lines). */
  lines: string[];
  /** Parsed JSON log lines (non-JSON lines skipped). */
  records(): Record<string, unknown>[];
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<number | string | null>;
  /** SIGKILL, resolved when the process is gone: a machine or process lost without warning. */
  kill(): Promise<void>;
  /** SIGTERM and wait (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Writes `yaml` to `dir/name.yaml` and runs the daemon on it until "proxy-proxy started". */
export async function startDaemonProcess(dir: string, name: string, yaml: string, timeoutMs = 20_000): Promise<DaemonProcess> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(config, yaml);
  const child = spawn(process.execPath, [CLI, 'run', '--config', config, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<number | string | null>((r) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      r(code ?? signal);
    }),
  );
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const urls: DaemonProcess['urls'] = {};
  const rl = createInterface({ input: child.stdout! });
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${name} did not start within ${timeoutMs} ms:\n${lines.join('\n')}\n${stderr}`)), timeoutMs);
    rl.on('line', (line) => {
      lines.push(line);
      const m = /listening on (https?):\/\/([^"\s]+)/.exec(line);
      if (m) urls[m[1] as 'http' | 'https'] = `${m[1]}://${m[2]}`;
      if (line.includes('proxy-proxy started')) {
        clearTimeout(timer);
        ok();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`${name} exited with ${code} before starting:\n${lines.join('\n')}\n${stderr}`));
    });
  });
  const signal = async (sig: NodeJS.Signals, graceMs?: number) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(sig);
    const timer = graceMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    urls,
    lines,
    records: () =>
      lines.flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
    exited,
    kill: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM', 10_000),
  };
}
