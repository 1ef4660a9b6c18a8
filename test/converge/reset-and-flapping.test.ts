// Backends that come back different from how they left: rebuilt empty at the same address,
// holding stale reservations, or flapping. Each must end up holding exactly the ledger, without
// an operator, without Foreman seeing a false conflict, and back in service in bounded time.
import { describe, it, expect, afterEach, jest } from '@jest/globals';
import { rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import type { DriftReport } from '../../src/converge/drift/drift-report.js';
import { client, type Client } from '../support/http-client.js';
import { clusterYaml, getStatus, startSims, tempDir, waitFor, waitSettled, type ManagedSim } from '../support/converge-cluster.js';
import { runCli } from './cli-process.js';

const NET = '192.0.2.0';
const FAST_CHECKS = 'health_check: { interval_ms: 100, timeout_ms: 300, rise: 1, fall: 1 }';
const CATCH_UP = '{ policy: replicate, on_backend_down: catch_up, min_success: 1 }';

describe('reset, stale and flapping backends', () => {
  let sims: ManagedSim[] = [];
  let daemon: Daemon | undefined;
  let api: Client | undefined;
  let files: http.Server | undefined;
  afterEach(async () => {
    await api?.close();
    await daemon?.stop();
    await Promise.all(sims.map((s) => s.stop()));
    await new Promise((r) => (files ? files.close(r) : r(undefined)));
    [sims, daemon, api, files] = [[], undefined, undefined, undefined];
  });
  // Simulator restarts and the command line as its own process take their time on a busy machine.
  jest.setTimeout(120_000);

  async function cluster(extra: string): Promise<{ a: ManagedSim; b: ManagedSim; url: string }> {
    const base = tempDir('pp-reset-');
    sims = await startSims(['sim-a', 'sim-b'], base);
    const yaml = clusterYaml({ sims, stateDir: join(base, 'state'), responseTimeoutMs: 2000, features: `  tftp: ${CATCH_UP}\n  dhcp: ${CATCH_UP}\n`, extra });
    daemon = new Daemon(parseConfig(yaml), { silent: true });
    await daemon.start();
    const url = daemon.url('http')!;
    api = client(url);
    // A first check slowed down by a busy machine must not mark a backend down for the test.
    await waitFor(async () => [...daemon!.runtime.backends.values()].every((x) => x.health.snapshot().lastCheck?.ok === true), 10_000, 'backends never checked up');
    return { a: sims[0]!, b: sims[1]!, url };
  }

  const backendState = async (name: string) => (await getStatus(api!)).backends.find((b) => b.name === name)!;

  /** A boot file server, TFTP configs, default menus and reservations: everything the ledger keeps. */
  async function provision(): Promise<void> {
    files = http.createServer((_req, res) => res.end('kernel image bytes\n'));
    await new Promise<void>((r) => files!.listen(0, '127.0.0.1', r));
    const bootUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/images/vmlinuz`;
    const ok = async (p: Promise<{ status: number; body: string }>) => expect((await p).status).toBe(200);
    await ok(api!.post('/tftp/PXEGrub2/create_default', { menu: 'set default=0\n' }));
    await ok(api!.post('/tftp/PXELinux/create_default', { menu: 'DEFAULT local\n' }));
    await ok(api!.post('/tftp/fetch_boot_file', { prefix: 'boot/fdi', path: bootUrl }));
    for (let i = 1; i <= 4; i++) {
      await ok(api!.post(`/tftp/PXEGrub2/00:16:3e:00:0a:0${i}`, { pxeconfig: `grub config ${i}\n` }));
      await ok(api!.post(`/dhcp/${NET}`, { mac: `52:54:00:ee:00:0${i}`, ip: `192.0.2.6${i}`, hostname: `r${i}.example.test` }));
    }
    // The boot file download runs in the background on each backend.
    await waitFor(async () => (await Promise.all(sims.map((s) => s.view()))).every((v) => v.tftp['boot/fdi-vmlinuz'] !== undefined), 5000, 'boot file downloaded');
  }

  async function wipe(sim: ManagedSim): Promise<void> {
    rmSync(join(sim.dir, 'tftp'), { recursive: true, force: true });
    rmSync(join(sim.dir, 'dhcp.json'), { force: true });
  }

  it('a backend rebuilt empty at the same address gets default menus, boot files, configs and reservations back, and drift is clean', async () => {
    const { a, b, url } = await cluster(FAST_CHECKS);
    await provision();
    const before = await a.view();
    expect(before.tftp['grub2/grub.cfg']).toBe('set default=0\n');
    expect(await b.view()).toEqual(before);

    await b.stop();
    await waitFor(async () => (await backendState('sim-b')).state === 'down', 5000, 'sim-b never seen down');
    await wipe(b);
    await b.startAgain();
    expect((await b.view()).tftp).toEqual({});
    await waitFor(async () => (await backendState('sim-b')).state === 'up', 5000, 'sim-b never seen up again');
    await waitSettled(api!, 15_000, 'sim-b resynced after its rebuild');
    expect(await b.view()).toEqual(before);
    const logs = (daemon!.logs.query(undefined) as { logs: { message: string }[] }).logs.map((l) => l.message);
    expect(logs.some((m) => /backend sim-b: resync of tftp from the whole ledger/.test(m))).toBe(true);

    const drift = await runCli(['drift', '--url', url]);
    expect([drift.code, drift.stdout]).toEqual([0, expect.stringMatching(/0 difference\(s\).*in step/)]);
  });

  it('a backend rebuilt while behind on one feature: that feature is not caught up before its reset check, which then still finds it empty', async () => {
    // Checks patient enough for the slow answers below: slow is not down.
    const { a, b } = await cluster('health_check: { interval_ms: 100, timeout_ms: 2000, rise: 1, fall: 1 }');
    const ok = async (p: Promise<{ status: number; body: string }>) => expect((await p).status).toBe(200);
    await ok(api!.post('/tftp/PXEGrub2/00:16:3e:00:0a:01', { pxeconfig: 'grub config\n' }));
    await ok(api!.post(`/dhcp/${NET}`, { mac: '52:54:00:ee:00:01', ip: '192.0.2.61', hostname: 'r1.example.test' }));
    // In maintenance, sim-b misses the next reservation: it is behind on dhcp only.
    await ok(api!.post('/proxy_proxy/backends/sim-b/maintenance'));
    await ok(api!.post(`/dhcp/${NET}`, { mac: '52:54:00:ee:00:02', ip: '192.0.2.62', hostname: 'r2.example.test' }));
    // Rebuilt meanwhile: back empty, and slow, so that its reset checks (tftp first) take a while.
    await b.stop();
    await wipe(b);
    await b.startAgain();
    await b.faults({ delay_ms: 400 });
    await ok(api!.post('/proxy_proxy/backends/sim-b/enable'));
    await waitSettled(api!, 20_000, 'sim-b back after its rebuild');
    await b.faults({ clear: true });
    // Had the missed reservation been caught up first, the dhcp check would have found one of
    // two reservations missing, no majority, and left the other out for good.
    expect(await b.view()).toEqual(await a.view());
    const logs = (daemon!.logs.query(undefined) as { logs: { message: string }[] }).logs.map((l) => l.message);
    expect(logs.filter((m) => /backend sim-b: resync of (tftp|dhcp) from the whole ledger/.test(m))).toHaveLength(2);
  });

  it('a drift run finds a backend wiped behind the daemon\'s back, resyncs it and says it is not verified yet; resync BACKEND pushes the whole ledger with progress', async () => {
    // Wiped in place (the simulator's reset): the process never stops, its checks never fail.
    const { a, b, url } = await cluster(FAST_CHECKS);
    await provision();
    const before = await a.view();

    await b.proc.reset();
    const first = await runCli(['drift', '--url', url, '--json']);
    const report = JSON.parse(first.stdout) as DriftReport;
    expect(first.code).not.toBe(0);
    expect(report.resyncs.map((r) => [r.feature, r.backend, r.reset])).toEqual([
      ['tftp', 'sim-b', true],
      ['dhcp', 'sim-b', true],
    ]);
    expect(report.inStep).toBe(false);
    await waitSettled(api!, 15_000, 'sim-b resynced by the drift run');
    expect(await b.view()).toEqual(before);
    expect((await runCli(['drift', '--url', url])).code).toBe(0);

    // The operator's way: after a rebuild the daemon has not noticed (one default menu lost only).
    rmSync(join(b.dir, 'tftp', 'grub2', 'grub.cfg'));
    expect((await b.view()).tftp['grub2/grub.cfg']).toBeUndefined();
    const resync = await runCli(['resync', 'sim-b', '--feature', 'tftp', '--url', url]);
    expect(resync.stderr).toBe('');
    expect(resync.code).toBe(0);
    expect(resync.stdout).toMatch(/^resync of sim-b started: tftp \d+ key\(s\) to send$/m);
    expect(resync.stdout).toMatch(/^sim-b holds the whole ledger again$/m);
    expect(await b.view()).toEqual(before);

    const unknown = await runCli(['resync', 'sim-x', '--url', url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown backend sim-x/);
    const notReplicated = await runCli(['resync', 'sim-b', '--feature', 'dns', '--url', url]);
    expect(notReplicated.code).toBe(2);
    expect(notReplicated.stderr).toMatch(/not a backend of a replicated feature named dns/);
  });

  it('drift with an unreadable or a lagging backend exits non-zero and says why', async () => {
    const { b, url } = await cluster(FAST_CHECKS);
    expect((await api!.post('/tftp/PXELinux/00:16:3e:00:0b:01', { pxeconfig: 'x\n' })).status).toBe(200);
    // Lagging: a catch-up that cannot finish (every replay refused, with an answer that does not eject it).
    await b.faults({ fail_path: { method: 'POST', pattern: '^/tftp/', status: 400, body: 'not now' } });
    await daemon!.converge.resync('tftp', 'sim-b', 'test');
    const lagging = await runCli(['drift', '--url', url]);
    expect(lagging.code).toBe(3);
    expect(lagging.stdout).toMatch(/NOT verified \(tftp on sim-b: catch-up backlog of 1 key\(s\)\)/);
    await b.faults({ clear: true });
    await waitSettled(api!, 10_000, 'sim-b caught up');
    expect((await runCli(['drift', '--url', url])).code).toBe(0);
    // Unreadable: it refuses connections (the checks have not marked it down).
    await b.faults({ refuse: true });
    const unreadable = await runCli(['drift', '--url', url]);
    expect(unreadable.code).toBe(3);
    expect(unreadable.stdout).toMatch(/not verified:\n {2}tftp on sim-b: unreadable \(.+\)/);
  });

  it('a backend back with stale reservations never vetoes valid creates during its catch-up, and ends up with the new values', async () => {
    const { a, b } = await cluster(FAST_CHECKS);
    const old = { mac: '52:54:00:ee:01:01', ip: '192.0.2.80', hostname: 'old.example.test' };
    expect((await api!.post(`/dhcp/${NET}`, old)).status).toBe(200);
    await b.faults({ refuse: true });
    await waitFor(async () => (await backendState('sim-b')).state === 'down', 5000, 'sim-b never seen down');
    expect((await api!.delete(`/dhcp/${NET}/mac/${old.mac}`)).status).toBe(200);
    // Back with its state kept: it still holds the old reservation, and its catch-up fails for now.
    await b.faults({ fail_path: { method: 'DELETE', pattern: '^/dhcp/', status: 500, body: 'not yet' } });
    await b.faults({ refuse: false });
    await waitFor(
      async () => {
        const s = await getStatus(api!);
        return s.backends.find((x) => x.name === 'sim-b')!.state === 'up' && s.features.find((f) => f.name === 'dhcp')!.catching_up.includes('sim-b');
      },
      5000,
      'sim-b never seen up and behind',
    );
    expect((await b.view()).dhcp[old.mac]).toBeDefined();
    // The old reservation's address goes to a new host, and others are created meanwhile.
    const creates = [
      { mac: '52:54:00:ee:01:02', ip: old.ip, hostname: 'new.example.test' },
      { mac: '52:54:00:ee:01:03', ip: '192.0.2.81', hostname: 'other.example.test' },
      { mac: old.mac, ip: '192.0.2.82', hostname: 'old-again.example.test' },
    ];
    for (const c of creates) {
      const r = await api!.post(`/dhcp/${NET}`, c);
      expect([c.mac, r.status, r.body]).toEqual([c.mac, 200, '']);
    }
    await b.faults({ clear: true });
    await waitSettled(api!, 10_000, 'sim-b catching up past its stale reservation');
    const [va, vb] = await Promise.all([a.view(), b.view()]);
    expect(vb).toEqual(va);
    for (const c of creates) expect(vb.dhcp[c.mac]).toEqual({ ip: c.ip, hostname: c.hostname, name: c.hostname });
  });

  it('a flapping backend is back in service within a bounded time once it stays up, and its back-off decays', async () => {
    const maxEjectionMs = 1500;
    const decayMs = 400;
    // Checks a second apart: the live failure of the write below is what takes it out each time.
    await cluster(`health_check: { interval_ms: 1000, timeout_ms: 300, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 1, base_ejection_ms: 200, max_ejection_ms: ${maxEjectionMs}, decay_after_ms: ${decayMs} }`);
    const b = sims[1]!;
    const backend = daemon!.runtime.backends.get('sim-b')!;
    const usable = async () => backend.health.available;
    for (let i = 0; i < 5; i++) {
      await waitFor(usable, maxEjectionMs * 4, `sim-b not usable before flap ${i}`);
      await b.stop();
      // A live failure ejects it: the back-off grows with every flap.
      const r = await api!.post(`/tftp/PXELinux/00:16:3e:00:0c:0${i}`, { pxeconfig: `flap ${i}\n` });
      expect(r.status).toBe(200);
      await b.startAgain();
    }
    expect(backend.health.snapshot().ejections).toBeGreaterThanOrEqual(3);
    // It stays up now: in service again within the longest back-off, caught up, serving reads.
    await waitFor(usable, maxEjectionMs * 4, 'sim-b never back in service');
    await waitSettled(api!, 10_000, 'sim-b catching up after flapping');
    // Healthy for a while: the back-off is back to its base, as after a first failure.
    await waitFor(async () => backend.health.snapshot().ejections === 0, decayMs * 12, 'the back-off never decayed');
    const read = await api!.get('/tftp/PXELinux/00:16:3e:00:0c:04');
    expect(read.body).toBe('flap 4\n');
  });
});
