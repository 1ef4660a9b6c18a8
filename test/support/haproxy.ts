// A real HAProxy for tests, on free loopback ports with a generated config in a temp dir (like
// mosquitto.ts). The caller writes the config from the ports it is given; it is checked with
// `haproxy -c` before the process starts. A missing binary is an error, not a skip: npm test's
// prerequisites install Debian's haproxy.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './mosquitto.js';

const run = promisify(execFile);

export interface HaproxyOptions {
  /** How many frontend ports the config binds (default 1). */
  ports?: number;
  /** The config text for the given frontend ports and the temp dir (for sockets, files). */
  config(ports: number[], dir: string): string;
  /** How long start waits for the ports to accept connections (default 10 s). */
  timeoutMs?: number;
}

export interface Haproxy {
  host: string;
  ports: number[];
  dir: string;
  configFile: string;
  running(): boolean;
  /** What HAProxy wrote to stderr (its log, with `log stderr …`), the newest 1 MB. */
  log(): string;
  /** SIGTERM (hard stop of every session) and wait; SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** stop() and remove the temp dir. */
  dispose(): Promise<void>;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin'];
const LOG_LIMIT = 1 << 20;

export function haproxyBinary(): string {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...SEARCH_DIRS]) {
    const candidate = join(dir, 'haproxy');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(
    'haproxy not found (searched PATH and ' + SEARCH_DIRS.join(', ') + '): install the Debian package ' +
      '"haproxy" (apt-get install -y haproxy; npm test does this when run as root). These tests need a real HAProxy.',
  );
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Checks a config with `haproxy -c`; rejects with HAProxy's own messages. */
export async function checkHaproxyConfig(file: string): Promise<void> {
  try {
    await run(haproxyBinary(), ['-c', '-q', '-f', file]);
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`haproxy -c refused ${file}:\n${e.stderr || e.stdout || e.message}`);
  }
}

export async function startHaproxy(opts: HaproxyOptions): Promise<Haproxy> {
  const binary = haproxyBinary();
  const dir = mkdtempSync(join(tmpdir(), 'proxy-proxy-haproxy-'));
  const configFile = join(dir, 'haproxy.cfg');
  const host = '127.0.0.1';
  const timeoutMs = opts.timeoutMs ?? 10_000;
  let child: ChildProcess | undefined;
  let logText = '';
  let ports: number[] = [];

  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  const spawnOnce = async (): Promise<void> => {
    // -db: foreground, no daemon: the test owns the process and its exit.
    const proc = spawn(binary, ['-db', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      logText += d;
      if (logText.length > LOG_LIMIT) logText = logText.slice(-LOG_LIMIT);
    });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`haproxy exited (${proc.exitCode ?? proc.signalCode}) before accepting connections:\n${logText}`);
      }
      if ((await Promise.all(ports.map((p) => canConnect(host, p)))).every(Boolean)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`haproxy did not accept connections on ${ports.join(', ')} within ${timeoutMs} ms:\n${logText}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  // A port found free can be taken before HAProxy binds it: pick new ones and try again.
  for (let attempt = 1; ; attempt++) {
    ports = await Promise.all(Array.from({ length: opts.ports ?? 1 }, () => freePort()));
    writeFileSync(configFile, opts.config(ports, dir));
    await checkHaproxyConfig(configFile);
    try {
      await spawnOnce();
      break;
    } catch (err) {
      await stop();
      if (attempt >= 3 || !/cannot bind|Address already in use/i.test(logText)) throw err;
      logText = '';
    }
  }

  return {
    host,
    ports,
    dir,
    configFile,
    running: () => !!child && child.exitCode === null && child.signalCode === null,
    log: () => logText,
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The doc's haproxy.cfg, with each documented address or file replaced; every one must be there. */
export function documentedHaproxyConfig(substitutions: Record<string, string>): string {
  const doc = readFileSync(resolve('docs/high-availability.md'), 'utf8');
  const block = /```haproxy\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/high-availability.md has no ```haproxy block');
  let cfg = block[1]!;
  for (const [from, to] of Object.entries(substitutions)) {
    if (!cfg.includes(from)) throw new Error(`the documented haproxy.cfg no longer contains ${from}`);
    cfg = cfg.split(from).join(to);
  }
  return cfg;
}

/**
 * haproxy as docs/high-availability.md configures it, in front of two instances; its front
 * ends (ports[0] HTTPS, ports[1] HTTP) on loopback instead of the documented address.
 */
export function startDocumentedHaproxy(caCert: string, [a, b]: [InstanceUrls, InstanceUrls]): Promise<Haproxy> {
  const hostPort = (url: string | undefined) => new URL(url!).host;
  return startHaproxy({
    ports: 2,
    config: ([https, http]) =>
      documentedHaproxyConfig({
        'log /dev/log local0': 'log stderr format raw local0',
        '192.0.2.10:8443': `127.0.0.1:${https}`,
        '192.0.2.10:8000': `127.0.0.1:${http}`,
        '192.0.2.11:8443': hostPort(a.https),
        '192.0.2.12:8443': hostPort(b.https),
        '192.0.2.11:8000': hostPort(a.http),
        '192.0.2.12:8000': hostPort(b.http),
        '/etc/haproxy/proxy-proxy-ca.pem': caCert,
      }),
  });
}

interface InstanceUrls {
  https?: string;
  http?: string;
}
