// SIGHUP on the daemon as a process: a broken file is refused (its problems logged) and the
// running configuration keeps serving; a good file that moves a feature to another policy and
// other backends takes effect for the next request.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterYaml, getStatus, startDaemonProcess, startSims, tempDir, type DaemonProcess, type ManagedSim } from '../support/converge-cluster.js';

describe('reload by SIGHUP', () => {
  let sims: ManagedSim[] = [];
  let daemon: DaemonProcess;
  let file: string;
  let stateDir: string;
  const write = (features: string) => writeFileSync(file, clusterYaml({ sims, stateDir, features }));
  const tftpPosts = async (s: ManagedSim) => (await s.proc.calls()).filter((c) => c.method === 'POST' && c.path.startsWith('/tftp/')).length;

  /** SIGHUP, then the first matching log line written after it. */
  async function hup(pattern: RegExp): Promise<Record<string, unknown>> {
    const from = daemon.lines.length;
    daemon.signal('SIGHUP');
    return JSON.parse(await daemon.waitForLine(pattern, 5000, from)) as Record<string, unknown>;
  }

  beforeAll(async () => {
    const base = tempDir('pp-reload-');
    file = join(base, 'proxy-proxy.yaml');
    stateDir = join(base, 'state');
    sims = await startSims(['sim-a', 'sim-b'], base);
    write('  tftp: { policy: replicate }\n  dns: {}\n');
    daemon = await startDaemonProcess(file);
  });
  afterAll(async () => {
    await daemon?.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it('a broken file is refused with its problems logged; the old configuration keeps serving', async () => {
    write('  tftp: { policy: sometimes, backends: [sim-a, sim-x] }\n  dns: {}\n');
    const refused = await hup(/reload refused|configuration reloaded/);
    expect(refused.level).toBe('error');
    expect(refused.message).toMatch(/reload refused/);
    expect(refused.message).toMatch(/features\.tftp\.policy: must be one of replicate, failover, primary/);
    expect(refused.message).toMatch(/unknown backend 'sim-x'/);

    writeFileSync(file, 'features:\n  tftp: { policy: replicate\n');
    const syntax = await hup(/reload refused|configuration reloaded/);
    expect(syntax.message).toMatch(/reload refused/);

    expect(daemon.child.exitCode).toBeNull();
    expect(JSON.parse((await daemon.http.get('/features')).body)).toEqual(['dns', 'tftp']);
    const w = await daemon.http.post('/tftp/PXELinux/00:16:3e:00:04:01', { pxeconfig: 'after a refused reload\n' });
    expect(w.status).toBe(200);
    for (const s of sims) expect((await s.view()).tftp['pxelinux.cfg/01-00-16-3e-00-04-01']).toBe('after a refused reload\n');
    const tftp = (await getStatus(daemon.http)).features.find((f) => f.name === 'tftp')!;
    expect([tftp.policy, tftp.backends]).toEqual(['replicate', ['sim-a', 'sim-b']]);
  });

  it('a good file moving a feature to another policy and backends applies to the next request', async () => {
    write('  tftp: { policy: failover, backends: [sim-b] }\n  dns: {}\n  dhcp: { policy: replicate, backends: [sim-a, sim-b] }\n');
    const done = await hup(/reload refused|configuration reloaded/);
    expect(done.message).toMatch(/configuration reloaded/);

    const status = await getStatus(daemon.http);
    expect(status.features.map((f) => [f.name, f.policy, f.backends])).toEqual(
      expect.arrayContaining([
        ['tftp', 'failover', ['sim-b']],
        ['dhcp', 'replicate', ['sim-a', 'sim-b']],
      ]),
    );
    expect(JSON.parse((await daemon.http.get('/features')).body)).toEqual(['dhcp', 'dns', 'tftp']);

    const before = await Promise.all(sims.map(tftpPosts));
    const w = await daemon.http.post('/tftp/PXELinux/00:16:3e:00:04:02', { pxeconfig: 'failover to sim-b only\n' });
    expect(w.status).toBe(200);
    // Failover: one backend, and only the one now listed.
    expect((await Promise.all(sims.map(tftpPosts))).map((n, i) => n - before[i]!)).toEqual([0, 1]);
    expect((await sims[1]!.view()).tftp['pxelinux.cfg/01-00-16-3e-00-04-02']).toBe('failover to sim-b only\n');
    expect((await sims[0]!.view()).tftp['pxelinux.cfg/01-00-16-3e-00-04-02']).toBeUndefined();

    // The newly offered feature replicates to both.
    const r = await daemon.http.post('/dhcp/192.0.2.0', { mac: '52:54:00:dd:00:01', ip: '192.0.2.60', hostname: 'reloaded.example.test' });
    expect(r.status).toBe(200);
    for (const s of sims) expect((await s.view()).dhcp['52:54:00:dd:00:01']).toMatchObject({ ip: '192.0.2.60' });
  });
});
