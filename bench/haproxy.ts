// HAProxy in HTTP mode with keep-alive on both sides, config generated into a temp dir. One
// thread: every process of the comparison shares a small machine, and proxy-proxy is one
// event loop too, so this compares per-core work.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './cleanup.js';
import { freePort, LOOPBACK, spawnTracked, waitForHttp } from './proc.js';

export function haproxyConfig(port: number, backendPort: number): string {
  return `global
    nbthread 1
    maxconn 4096

defaults
    mode http
    option http-keep-alive
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 60s

frontend bench
    bind ${LOOPBACK}:${port}
    default_backend fast

backend fast
    http-reuse always
    server fast ${LOOPBACK}:${backendPort} maxconn 128
`;
}

export async function startHaproxy(backendPort: number): Promise<{ child: ChildProcess; port: number }> {
  const dir = tempDir('haproxy');
  const port = await freePort();
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(cfg, haproxyConfig(port, backendPort));
  execFileSync('haproxy', ['-c', '-q', '-f', cfg], { stdio: 'pipe' });
  // -db: stay in the foreground, so the bench owns the process and its exit.
  const child = spawnTracked('haproxy', ['-db', '-f', cfg]);
  child.stdout!.resume();
  child.stderr!.resume();
  await waitForHttp(port, '/dhcp', 10_000);
  return { child, port };
}
