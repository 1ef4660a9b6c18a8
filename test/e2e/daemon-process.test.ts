// The built daemon as its own process, started from a YAML file, as systemd would run it.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';
import { client } from '../support/http-client.js';

const CLI = resolve('dist/src/cli.js');

function writeConfig(dir: string, sims: SimProcess[]): string {
  const file = join(dir, 'proxy-proxy.yaml');
  writeFileSync(
    file,
    `# end-to-end test configuration
bind_host: 127.0.0.1
http_port: 0
state_dir: ${join(dir, 'state')}
shutdown_timeout_ms: 5000
backends:
${sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('')}features:
  tftp:
    policy: replicate
  dns: {}
  logs: {}
`,
  );
  return file;
}

async function startDaemonProcess(config: string): Promise<{ child: ChildProcess; base: string; lines: string[] }> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const rl = createInterface({ input: child.stdout! });
  const base = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`daemon did not start: ${lines.join('\n')}`)), 10_000);
    rl.on('line', (line) => {
      lines.push(line);
      const m = /listening on (http:\/\/[^"\s]+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`daemon exited with ${code}: ${lines.join('\n')}`)));
  });
  return { child, base, lines };
}

describe('proxy-proxy as a process', () => {
  let sims: SimProcess[];
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pp-e2e-'));
    sims = await Promise.all([startSimProcess({ name: 'sim-a' }), startSimProcess({ name: 'sim-b' })]);
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('starts from YAML, answers like a smart proxy, replicates TFTP, logs JSON lines, exits 0 on SIGTERM', async () => {
    const { child, base, lines } = await startDaemonProcess(writeConfig(dir, sims));
    const http = client(base);
    try {
      const features = await http.get('/features');
      expect(features.status).toBe(200);
      expect(JSON.parse(features.body)).toEqual(['dns', 'logs', 'tftp']);
      const w = await http.post('/tftp/PXEGrub2/00:11:22:33:44:77', { pxeconfig: 'e2e\n' }, { 'x-request-id': 'e2e-req-1' });
      expect(w.status).toBe(200);
      for (const s of sims) expect((await s.state()).tftp['grub2/grub.cfg-01-00-11-22-33-44-77']).toBe('e2e\n');
      // The request id reached the backends and the log line.
      for (const s of sims) expect((await s.calls()).some((c) => c.headers['x-request-id'] === 'e2e-req-1')).toBe(true);
      const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.request_id === 'e2e-req-1' && l.status === 200);
      expect(logged).toMatchObject({ feature: 'tftp', policy: 'replicate' });
      expect((logged!.backends as unknown[]).length).toBeGreaterThanOrEqual(2);
    } finally {
      await http.close();
    }
    const code = await new Promise<number | null>((r) => {
      child.once('exit', (c) => r(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });

  it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const { child, base } = await startDaemonProcess(writeConfig(dir, sims));
    const http = client(base);
    await sims[0]!.faults({ delay_ms: 800 });
    try {
      const slow = http.post('/dns/', { fqdn: 'slow.example.test', value: '192.0.2.77', type: 'A' });
      // Let the request reach the (slow) backend before the signal.
      await new Promise((r) => setTimeout(r, 300));
      const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      child.kill('SIGTERM');
      const answer = await slow;
      expect(answer.status).toBe(200);
      expect((await sims[0]!.state()).dns).toContainEqual(expect.objectContaining({ name: 'slow.example.test' }));
      expect(await exited).toBe(0);
    } finally {
      await sims[0]!.faults({ delay_ms: 0 });
      await http.close();
    }
  });

  it('refuses to start on an invalid file and says where', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'http_port: 8000\nbackends:\n  a:\n    url: http://127.0.0.1:1\nfeatures:\n  tftp:\n    policy: sometimes\n');
    const run = spawnSync(process.execPath, [CLI, 'run', '--config', bad], { encoding: 'utf8', timeout: 10_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/features\.tftp\.policy: must be one of replicate, failover, primary \(line 7\)/);
  });

  it('check-config: 0 on a good file, 1 on a bad one', () => {
    // The example names production certificate paths: its shape is checked, not this host.
    const good = spawnSync(process.execPath, [CLI, 'check-config', '--shape-only', resolve('config/proxy-proxy.example.yaml')], { encoding: 'utf8' });
    expect(good.status).toBe(0);
    const onHost = spawnSync(process.execPath, [CLI, 'check-config', resolve('config/proxy-proxy.example.yaml')], { encoding: 'utf8' });
    expect(onHost.status).toBe(1);
    expect(onHost.stderr).toMatch(/^ssl_certificate: cannot read \/etc\/foreman-proxy\/ssl_cert\.pem: ENOENT$/m);
    const bad = join(dir, 'bad2.yaml');
    writeFileSync(bad, 'http_port: 99999\nbackends: {}\nfeatures:\n  tfpt: {}\n');
    const r = spawnSync(process.execPath, [CLI, 'check-config', bad], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/http_port/);
    expect(r.stderr).toMatch(/tfpt/);
  });
});
