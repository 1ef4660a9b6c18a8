// The built proxy-proxy daemon as its own process, as systemd runs it: `cli.js run --config
// FILE --log-format json`, stdout (the request log) into a file, as journald would take it.
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cleanup.js';
import { DAEMON_MAIN } from './paths.js';
import { freePort, LOOPBACK, spawnTracked, stopChild, waitForHttp } from './proc.js';

export interface DaemonSpec {
  /** name → base URL (none: `backends: {}`) */
  backends?: Record<string, string>;
  /** The YAML body of `features:`, two-space indented ('' → `features: {}`). */
  features: string;
  /** Extra top-level YAML (trusted_hosts, health_check, …). */
  extra?: string;
  /** Extra keys for every backend, e.g. `response_timeout_ms: 1000`. */
  backendExtra?: string;
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  nodeArgs?: string[];
  label: string;
}

export interface DaemonProcess {
  child: ChildProcess;
  port: number;
  url: string;
  dir: string;
  /** ms from spawn to the first 200 on GET /features */
  startMs: number;
  stop(): Promise<void>;
}

export function daemonYaml(spec: DaemonSpec, port: number, stateDir: string): string {
  const backends = Object.entries(spec.backends ?? {})
    .map(([name, url]) => `  ${name}:\n    url: ${url}\n${spec.backendExtra ? `    ${spec.backendExtra}\n` : ''}`)
    .join('');
  return `bind_host: 127.0.0.1
http_port: ${port}
state_dir: ${stateDir}
log_level: ${spec.logLevel ?? 'INFO'}
${spec.extra ?? ''}
backends:${backends ? `\n${backends}` : ' {}\n'}features:${spec.features ? `\n${spec.features}` : ' {}'}
`;
}

/**
 * The environment of systemd/proxy-proxy.service: NODE_ENV=production, and none of the shell's
 * extra CA bundle (NODE_EXTRA_CA_CERTS makes every Node start parse it, some 30 ms of CPU here;
 * the daemon's own CAs come from its configuration).
 */
function unitEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production' };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

export async function startDaemon(spec: DaemonSpec): Promise<DaemonProcess> {
  const dir = tempDir(spec.label);
  const port = await freePort();
  const config = join(dir, 'proxy-proxy.yaml');
  writeFileSync(config, daemonYaml(spec, port, dir));
  const log = openSync(join(dir, 'daemon.log'), 'a');
  const started = performance.now();
  const child = spawnTracked(process.execPath, [...(spec.nodeArgs ?? []), DAEMON_MAIN, 'run', '--config', config, '--log-format', 'json'], {
    stdio: ['ignore', log, 'pipe'],
    cwd: dir,
    env: unitEnvironment(),
  });
  closeSync(log);
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`proxy-proxy exited with ${code}: ${stderr}`))));
  exited.catch(() => {});
  await Promise.race([waitForHttp(port, '/features', 15_000, 2), exited]);
  return {
    child,
    port,
    url: `http://${LOOPBACK}:${port}`,
    dir,
    startMs: performance.now() - started,
    stop: () => stopChild(child),
  };
}
