// Support for the convergence tests: simulators that keep their state on disk so they can be
// restarted on the same port, proxy-proxy as its own process (the built CLI), the runtime status,
// and a comparable view of what each backend holds.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimProcess, type SimProcess, type SimState } from './sim-process.js';
import { client, type Client } from './http-client.js';

export const CLI = resolve('dist/src/cli.js');

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A reservation as the tests compare it: the fields a create sets. */
export interface ReservationView {
  ip: string;
  hostname: string;
  name: string;
  filename?: string;
  nextServer?: string;
}

/** What a backend holds: TFTP files (path → content) and DHCP reservations by lower-case MAC. */
export interface BackendView {
  tftp: Record<string, string>;
  dhcp: Record<string, ReservationView>;
}

export function viewOf(state: SimState): BackendView {
  const dhcp: Record<string, ReservationView> = {};
  for (const r of state.dhcp.reservations) {
    const v: ReservationView = { ip: r.ip, hostname: String(r.hostname), name: r.name };
    if (r.filename !== undefined) v.filename = String(r.filename);
    if (r.nextServer !== undefined) v.nextServer = String(r.nextServer);
    dhcp[r.mac] = v;
  }
  return { tftp: { ...state.tftp }, dhcp };
}

/**
 * A simulator whose TFTP root and DHCP reservations live in its own directory, so that a
 * restart (a new process on the same port) finds them again, as a real smart proxy would.
 */
export class ManagedSim {
  private constructor(
    public proc: SimProcess,
    readonly name: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(name: string, base: string): Promise<ManagedSim> {
    const dir = join(base, name);
    mkdirSync(dir, { recursive: true });
    const proc = await startSimProcess({ name, args: ManagedSim.args(dir, 0) });
    return new ManagedSim(proc, name, dir, proc.port);
  }

  private static args(dir: string, port: number): string[] {
    return ['--port', String(port), '--tftproot', join(dir, 'tftp'), '--dhcp-state', join(dir, 'dhcp.json')];
  }

  get url(): string {
    return this.proc.url;
  }

  get running(): boolean {
    return this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  async stop(): Promise<void> {
    if (this.running) await this.proc.stop();
  }

  /** A new process on the same port and directory. Bounded retries: the port may linger briefly. */
  async startAgain(): Promise<void> {
    if (this.running) return;
    let last: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        this.proc = await startSimProcess({ name: this.name, args: ManagedSim.args(this.dir, this.port) });
        return;
      } catch (err) {
        last = err;
        if (!/EADDRINUSE/.test(String(err))) break;
        await sleep(100);
      }
    }
    throw new Error(`${this.name} did not start again on port ${this.port}: ${String(last)}`);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.startAgain();
  }

  async view(): Promise<BackendView> {
    return viewOf(await this.proc.state());
  }

  faults(body: Record<string, unknown>) {
    return this.proc.faults(body);
  }
}

export async function startSims(names: string[], base: string): Promise<ManagedSim[]> {
  return Promise.all(names.map((n) => ManagedSim.start(n, base)));
}

export interface ClusterConfig {
  sims: { name: string; url: string }[];
  stateDir: string;
  /** YAML for the `features:` map, each entry indented by two spaces. */
  features: string;
  responseTimeoutMs?: number;
  /** Extra top-level YAML (health_check, passive_ejection, compensation_retry…). */
  extra?: string;
  /** Default 0 (a free port); a fixed one lets a restarted daemon come back at the same address. */
  httpPort?: number;
  /** Default DEBUG. */
  logLevel?: string;
}

export function clusterYaml(c: ClusterConfig): string {
  const backends = c.sims
    .map((s) => `  ${s.name}:\n    url: ${s.url}\n    connect_timeout_ms: 300\n    response_timeout_ms: ${c.responseTimeoutMs ?? 2000}\n`)
    .join('');
  return `bind_host: 127.0.0.1
http_port: ${c.httpPort ?? 0}
state_dir: ${c.stateDir}
log_level: ${c.logLevel ?? 'DEBUG'}
shutdown_timeout_ms: 1000
${c.extra ?? ''}
backends:
${backends}features:
${c.features}`;
}

/** proxy-proxy as its own process, started from the built CLI. */
export interface DaemonProcess {
  child: ChildProcess;
  base: string;
  http: Client;
  /** Every stdout line so far (JSON log lines). */
  lines: string[];
  stderr(): string;
  /** Resolves with the first matching line from index `from` of `lines` on (seen or to come). */
  waitForLine(re: RegExp, timeoutMs: number, from?: number): Promise<string>;
  signal(sig: NodeJS.Signals): void;
  exited: Promise<number | null>;
  /** SIGKILL, then wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then wait for the exit (SIGKILL after a bound). */
  stop(): Promise<void>;
}

export async function startDaemonProcess(configFile: string): Promise<DaemonProcess> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', configFile, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  const waiters: { re: RegExp; ok: (l: string) => void }[] = [];
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // Never leave a daemon behind if the test process ends early.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  void exited.then(() => process.removeListener('exit', onExit));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.ok(line);
      }
    }
  });
  const waitForLine = (re: RegExp, timeoutMs: number, from = 0) =>
    new Promise<string>((ok, fail) => {
      const seen = lines.slice(from).find((l) => re.test(l));
      if (seen) return ok(seen);
      const w = {
        re,
        ok: (l: string) => {
          clearTimeout(timer);
          ok(l);
        },
      };
      const timer = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        fail(new Error(`no log line matching ${re} within ${timeoutMs} ms:\n${lines.slice(-30).join('\n')}\n${stderr}`));
      }, timeoutMs);
      waiters.push(w);
    });
  const started = await Promise.race([
    waitForLine(/listening on http:\/\//, 10_000),
    exited.then((code) => {
      throw new Error(`daemon exited with ${code}: ${lines.join('\n')}\n${stderr}`);
    }),
  ]);
  const base = /listening on (http:\/\/[^"\s]+)/.exec(started)![1]!;
  const http = client(base);
  // Signal first: closing the client first would wait for the requests in flight.
  const stopWith = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    await http.close().catch(() => undefined);
  };
  return {
    child,
    base,
    http,
    lines,
    stderr: () => stderr,
    waitForLine,
    signal: (sig) => child.kill(sig),
    exited,
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
  };
}

export interface StatusDocument {
  backends: { name: string; state: string; ejectedUntil: number | null }[];
  features: { name: string; policy: string; backends: string[]; catching_up: string[] }[];
  convergence: {
    openSagas: number;
    pendingCompensations: { id: number; feature: string; route: string; attempts: number; lastError: string | null }[];
    catchUpBacklog: Record<string, Record<string, number>>;
  };
}

export async function getStatus(http: Client): Promise<StatusDocument> {
  const r = await http.get('/proxy_proxy/status');
  if (r.status !== 200) throw new Error(`GET /proxy_proxy/status: ${r.status} ${r.body}`);
  return JSON.parse(r.body) as StatusDocument;
}

/** Nothing open, nothing to undo, nobody behind: every write is settled everywhere. */
export function settled(s: StatusDocument): boolean {
  const c = s.convergence;
  return (
    c.openSagas === 0 &&
    c.pendingCompensations.length === 0 &&
    Object.values(c.catchUpBacklog).every((perBackend) => Object.values(perBackend).every((n) => n === 0)) &&
    s.features.every((f) => (f.catching_up ?? []).length === 0)
  );
}

/** Polls the status until settled; fails with the last status document after `timeoutMs`. */
export async function waitSettled(http: Client, timeoutMs: number, context = ''): Promise<StatusDocument> {
  const deadline = Date.now() + timeoutMs;
  let last: StatusDocument | undefined;
  let error: unknown;
  while (Date.now() < deadline) {
    try {
      last = await getStatus(http);
      if (settled(last)) return last;
    } catch (err) {
      error = err;
    }
    await sleep(100);
  }
  throw new Error(
    `not settled within ${timeoutMs} ms${context ? ` (${context})` : ''}; last status:\n${JSON.stringify(last?.convergence ?? String(error), null, 2)}\n` +
      `features: ${JSON.stringify(last?.features.map((f) => [f.name, f.catching_up]))}\nbackends: ${JSON.stringify(last?.backends.map((b) => [b.name, b.state]))}`,
  );
}

/** Polls until `check` holds; bounded in time, fails with `describe()`. */
export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, describe: string | (() => Promise<string> | string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms: ${typeof describe === 'string' ? describe : await describe()}`);
}
