// The built daemon under systemd socket activation, as systemd/proxy-proxy.socket and
// Restart=on-failure run it, with Debian's `systemd-socket-activate` holding the listening
// sockets: a small supervisor shell (the process systemd-socket-activate execs, so it keeps the
// sockets open) runs the daemon on them and, when it dies, runs it again on the same sockets —
// once the test allows it, so that the test can act while nothing accepts connections.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CLI } from './daemon-process.js';

const SUPERVISOR = `#!/bin/sh
# Restart=on-failure for a test: $1 is the file whose appearance allows a restart, the rest the
# daemon's command line. At most 5 runs; a run that exits 0 ends it.
allow="$1"; shift
runs=0
while [ $runs -lt 5 ]; do
  runs=$((runs + 1))
  # LISTEN_PID must name the daemon itself (sd_listen_fds checks it).
  sh -c 'echo "{\\"supervisor\\":\\"started\\",\\"pid\\":$$}"; export LISTEN_PID=$$; exec "$@"' sh "$@"
  [ $? -eq 0 ] && exit 0
  i=0
  while [ ! -e "$allow" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
  rm -f "$allow"
done
exit 1
`;

export interface SocketSpec {
  port: number;
  /** LISTEN_FDNAMES entry; any name but http/https makes the daemon match the socket by port. */
  name: string;
}

export interface SocketActivated {
  /** systemd-socket-activate, then (after its exec) the supervisor. */
  launcher: ChildProcess;
  lines: string[];
  /** PID of the daemon currently running (the last one started). */
  daemonPid(): number;
  /** Resolves at the next "proxy-proxy started" (bounded). */
  nextStart(timeoutMs?: number): Promise<void>;
  /** SIGKILL the daemon and wait until it is gone; the sockets stay open. */
  killDaemon(): Promise<void>;
  /** Lets the supervisor start the daemon again. */
  allowRestart(): void;
  /** SIGTERM the daemon (it exits 0, the supervisor ends) and wait for the launcher. */
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function startSocketActivated(dir: string, config: string, sockets: SocketSpec[]): Promise<SocketActivated> {
  const script = join(dir, 'supervise.sh');
  writeFileSync(script, SUPERVISOR, { mode: 0o755 });
  const allow = join(dir, 'allow-restart');
  const args = [
    ...sockets.map((s) => `--listen=127.0.0.1:${s.port}`),
    `--fdname=${sockets.map((s) => s.name).join(':')}`,
    '--',
    script,
    allow,
    process.execPath,
    CLI,
    'run',
    '--config',
    config,
    '--log-format',
    'json',
  ];
  const launcher = spawn('systemd-socket-activate', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters = new Set<(line: string) => void>();
  let pid = 0;
  createInterface({ input: launcher.stdout! }).on('line', (line) => {
    lines.push(line);
    const m = /^\{"supervisor":"started","pid":(\d+)\}$/.exec(line);
    if (m) pid = Number(m[1]);
    for (const w of [...waiters]) w(line);
  });
  let stderr = '';
  launcher.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const launcherExit = new Promise<void>((r) => launcher.once('exit', () => r()));

  const nextStart = (timeoutMs = 20_000) =>
    new Promise<void>((ok, fail) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        waiters.delete(onLine);
        if (err) fail(err);
        else ok();
      };
      const timer = setTimeout(() => done(new Error(`daemon did not start within ${timeoutMs} ms:\n${lines.join('\n')}\n${stderr}`)), timeoutMs);
      const onLine = (line: string) => {
        if (line.includes('proxy-proxy started')) done();
      };
      waiters.add(onLine);
      void launcherExit.then(() => done(new Error(`launcher exited:\n${lines.join('\n')}\n${stderr}`)));
    });

  // systemd-socket-activate execs its command at the first connection, as systemd would.
  const started = nextStart();
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const attempt = () => {
      const c = net.connect(sockets[0]!.port, '127.0.0.1', () => {
        c.destroy();
        resolve();
      });
      c.once('error', (err) => {
        if (Date.now() > deadline) reject(err);
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
  await started;

  const waitGone = async (p: number) => {
    const until = Date.now() + 10_000;
    while (alive(p)) {
      if (Date.now() > until) throw new Error(`process ${p} still alive`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    launcher,
    lines,
    daemonPid: () => pid,
    nextStart,
    async killDaemon() {
      const p = pid;
      process.kill(p, 'SIGKILL');
      await waitGone(p);
    },
    allowRestart() {
      if (!existsSync(allow)) writeFileSync(allow, '');
    },
    async stop() {
      if (launcher.exitCode !== null || launcher.signalCode !== null) return;
      if (pid && alive(pid)) process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => launcher.kill('SIGKILL'), 15_000);
      await launcherExit;
      clearTimeout(timer);
    },
  };
}
