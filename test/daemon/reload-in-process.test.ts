// Reload applied in process: what changes and what is kept.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';
import { client } from '../support/http-client.js';

describe('reload', () => {
  let sims: SimProcess[];
  let dir: string;
  let file: string;
  let daemon: Daemon;
  const write = (features: string, extra = '') =>
    writeFileSync(
      file,
      `bind_host: 127.0.0.1
http_port: 0
state_dir: ${join(dir, 'state')}
${extra}
backends:
${sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('')}features:
${features}`,
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pp-reload-'));
    file = join(dir, 'proxy-proxy.yaml');
    sims = await Promise.all([startSimProcess({ name: 'sim-a' }), startSimProcess({ name: 'sim-b' })]);
    write('  dns: {}\n');
    daemon = new Daemon(loadConfig(file), { silent: true });
    await daemon.start();
  });
  afterAll(async () => {
    await daemon.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('keeps listeners, backends and their operational state when they did not change', async () => {
    const listener = daemon.listeners[0]!;
    const backend = daemon.runtime.backends.get('sim-b')!;
    backend.health.setOperational('drained', 'test');
    write('  dns: {}\n  tftp: {}\n');
    expect(await daemon.reload()).toBe(true);
    expect(daemon.listeners[0]).toBe(listener);
    expect(daemon.runtime.backends.get('sim-b')).toBe(backend);
    expect(daemon.runtime.backends.get('sim-b')!.state).toBe('drained');
    const http = client(daemon.url('http')!);
    expect(JSON.parse((await http.get('/features')).body)).toEqual(['dns', 'tftp']);
    await http.close();
    backend.health.setOperational('active', 'test');
  });

  it('a broken file is refused and the running configuration stays', async () => {
    write('  dns: { policy: sometimes }\n');
    expect(await daemon.reload()).toBe(false);
    const http = client(daemon.url('http')!);
    expect(JSON.parse((await http.get('/features')).body)).toEqual(['dns', 'tftp']);
    await http.close();
    const logs = daemon.logs.query(undefined) as { logs: { level: string; message: string }[] };
    expect(logs.logs.some((l) => l.level === 'ERROR' && /features\.dns\.policy: must be one of/.test(l.message))).toBe(true);
  });

  it('opens a listener that was added and closes one that was removed', async () => {
    const before = daemon.listeners.map((l) => l.port);
    // Move HTTP to a specific free port.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    writeFileSync(file, `bind_host: 127.0.0.1\nhttp_port: ${port}\nstate_dir: ${join(dir, 'state')}\nbackends:\n${sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('')}features:\n  dns: {}\n`);
    expect(await daemon.reload()).toBe(true);
    expect(daemon.listeners.map((l) => l.port)).toEqual([port]);
    expect(before).not.toContain(port);
    const http = client(`http://127.0.0.1:${port}`);
    expect((await http.get('/features')).status).toBe(200);
    await http.close();
    const old = client(`http://127.0.0.1:${before[0]}`);
    await expect(old.get('/features')).rejects.toThrow();
    await old.close();
  });
});
