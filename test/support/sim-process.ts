// Starts the simulated smart proxy (dist/src/sim/main.js, built by `npm run build`) as a child
// process on free loopback ports and talks to its control API.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SimCall {
  method: string;
  path: string;
  /** Raw query string without '?'. */
  query: string;
  /** Lower-case header names, as Node received them. */
  headers: Record<string, string | string[] | undefined>;
  body: string;
  at: number;
}

export interface SimDnsRecord {
  name: string;
  type: string;
  value: string;
}

/** A reservation or lease, as the DHCP API shows it. */
export interface SimDhcpRecord {
  name: string;
  ip: string;
  mac: string;
  subnet: string;
  type: 'reservation' | 'lease';
  [field: string]: unknown;
}

export interface SimState {
  /** tftproot files: relative path → content. */
  tftp: Record<string, string>;
  tftpDirs: string[];
  dns: SimDnsRecord[];
  dhcp: { reservations: SimDhcpRecord[]; leases: SimDhcpRecord[] };
  puppetca: { certificates: Record<string, { state: string; [field: string]: unknown }>; autosign: string[] };
  realm: { hosts: { hostname: string; userclass?: string; otp: string }[] };
  bmc: Record<string, { power: 'on' | 'off'; bootdevice: string; identify: 'on' | 'off' }>;
}

export interface SimFaults {
  refuse: boolean;
  delay_ms: number;
  hang: boolean;
  fail_nth: { n: number; status: number; body: string; remaining: number } | null;
  fail_path: { method?: string; pattern: string; status: number; body: string; action: string }[];
}

export interface SimProcess {
  name: string;
  /** Base URL of the API port (https:// when the sim was given the --ssl-* files). */
  url: string;
  port: number;
  /** The extra HTTPS listener, when started with --https-port. */
  httpsPort?: number;
  httpsUrl?: string;
  controlUrl: string;
  controlPort: number;
  tftproot: string;
  child: ChildProcess;
  state(): Promise<SimState>;
  calls(): Promise<SimCall[]>;
  clearCalls(): Promise<void>;
  faults(body: Record<string, unknown>): Promise<SimFaults>;
  reset(): Promise<void>;
  /** SIGTERM and wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** What the process wrote to stderr so far. */
  stderr(): string;
}

export interface StartSimOptions {
  name?: string;
  args?: string[];
  timeoutMs?: number;
}

/** The repository root: the nearest directory up from here with a package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

export const SIM_MAIN = join(repoRoot(), 'dist', 'src', 'sim', 'main.js');

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

function controlRequest(host: string, port: number, method: string, path: string, body?: unknown): Promise<unknown> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port,
        method,
        path,
        agent: false,
        headers: payload ? { 'Content-Type': 'application/json', 'Content-Length': String(payload.length) } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 400) return reject(new Error(`control ${method} ${path}: ${res.statusCode} ${text}`));
          try {
            resolve(text === '' ? undefined : JSON.parse(text));
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function waitExit(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export async function startSimProcess(opts: StartSimOptions = {}): Promise<SimProcess> {
  const name = opts.name ?? 'sim';
  const args = [SIM_MAIN, '--port', '0', '--control-port', '0', '--name', name, ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));

  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sim ${name} did not start within ${opts.timeoutMs ?? 15000} ms: ${stderr}`));
    }, opts.timeoutMs ?? 15000);
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      buffered += d;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        const parsed = JSON.parse(buffered.slice(0, nl)) as Record<string, unknown>;
        if (parsed.event !== 'listening') throw new Error(`unexpected first line: ${buffered.slice(0, nl)}`);
        resolve(parsed);
      } catch (err) {
        reject(err as Error);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sim ${name} exited with ${code} before listening: ${stderr}`));
    });
  });

  const hostIdx = (opts.args ?? []).indexOf('--host');
  const host = hostIdx >= 0 ? (opts.args as string[])[hostIdx + 1] : '127.0.0.1';
  const port = line.port as number;
  const controlPort = line.controlPort as number;
  const httpsPort = line.httpsPort as number | undefined;
  const control = (method: string, path: string, body?: unknown) => controlRequest(host, controlPort, method, path, body);

  return {
    name,
    url: `${line.scheme === 'https' ? 'https' : 'http'}://${host}:${port}`,
    port,
    httpsPort,
    httpsUrl: httpsPort === undefined ? undefined : `https://${host}:${httpsPort}`,
    controlUrl: `http://${host}:${controlPort}`,
    controlPort,
    tftproot: line.tftproot as string,
    child,
    state: async () => (await control('GET', '/state')) as SimState,
    calls: async () => (await control('GET', '/calls')) as SimCall[],
    clearCalls: async () => {
      await control('DELETE', '/calls');
    },
    faults: async (body) => (await control('POST', '/faults', body)) as SimFaults,
    reset: async () => {
      await control('POST', '/reset');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await waitExit(child);
      clearTimeout(timer);
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitExit(child);
    },
    stderr: () => stderr,
  };
}
