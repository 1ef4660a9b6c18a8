// Catch-up from the desired-state ledger, with proxy-proxy as its own process: a backend that
// missed writes serves no reads until it holds them; lost answers and replaced reservations do
// not leave it stuck; a backend added by SIGHUP is brought up from the whole ledger.
import { describe, it, expect, afterEach } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  clusterYaml,
  getStatus,
  startDaemonProcess,
  startSims,
  tempDir,
  waitFor,
  waitSettled,
  type DaemonProcess,
  type ManagedSim,
} from '../support/converge-cluster.js';
import type { SimCall } from '../support/sim-process.js';

const FAST_CHECKS = `health_check: { interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 2, base_ejection_ms: 200, max_ejection_ms: 400 }
compensation_retry: { base_ms: 100, max_ms: 500 }`;
const NET = '192.0.2.0';

const idOf = (c: SimCall) => String(c.headers['x-request-id'] ?? '');

describe('catch-up', () => {
  let sims: ManagedSim[] = [];
  let daemon: DaemonProcess | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    await Promise.all(sims.map((s) => s.stop()));
    sims = [];
  });

  /** Three sims, `first` listed first for both features so that reads go to it when it may serve them. */
  async function cluster(first: number, extra = FAST_CHECKS, opts: { responseTimeoutMs?: number; minSuccess?: number } = {}): Promise<{ base: string; file: string }> {
    const base = tempDir('pp-catchup-');
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const order = [sims[first]!, ...sims.filter((_, i) => i !== first)].map((s) => s.name).join(', ');
    const f = `{ policy: replicate, on_backend_down: catch_up, min_success: ${opts.minSuccess ?? 2}, backends: [${order}] }`;
    const file = join(base, 'proxy-proxy.yaml');
    writeFileSync(file, clusterYaml({ sims, stateDir: join(base, 'state'), responseTimeoutMs: opts.responseTimeoutMs ?? 800, features: `  tftp: ${f}\n  dhcp: ${f}\n`, extra }));
    daemon = await startDaemonProcess(file);
    // Every backend seen up before the test's first write (one not yet checked is left out of it).
    const http = daemon.http;
    await waitFor(async () => (await getStatus(http)).backends.every((b) => b.state === 'up'), 10_000, 'backends never all up');
    return { base, file };
  }

  async function expectIdentical(): Promise<void> {
    const [a, ...rest] = await Promise.all(sims.map((s) => s.view()));
    for (const v of rest) expect(v).toEqual(a);
  }

  it('a backend that was down serves no reads until it has caught up, then serves them again', async () => {
    await cluster(2);
    const c = sims[2]!;
    const http = daemon!.http;
    const cfg = (n: string) => ({ pxeconfig: `kernel ${n}\n` });
    expect((await http.post('/tftp/PXELinux/00:16:3e:00:01:01', cfg('before'))).status).toBe(200);
    expect((await http.post(`/dhcp/${NET}`, { mac: '52:54:00:bb:00:01', ip: '192.0.2.20', hostname: 'one.example.test' })).status).toBe(200);
    // sim-c is first: while it is current, reads go to it (what makes the checks below able to fail).
    expect((await http.get('/tftp/PXELinux/00:16:3e:00:01:01', { 'x-request-id': 'read-current' })).body).toBe('kernel before\n');
    expect((await c.proc.calls()).some((x) => idOf(x) === 'read-current')).toBe(true);

    await c.faults({ refuse: true });
    await waitFor(async () => (await getStatus(http)).backends.find((b) => b.name === 'sim-c')!.state === 'down', 5000, 'sim-c never seen down');
    await c.proc.clearCalls();
    const writes: [string, string, Record<string, string>?][] = [
      ['POST', '/tftp/PXELinux/00:16:3e:00:01:01', cfg('overwritten while c was down')],
      ['POST', '/tftp/PXEGrub2/00:16:3e:00:01:02', cfg('new while c was down')],
      ['POST', '/tftp/iPXE/00:16:3e:00:01:03', cfg('soon deleted')],
      ['DELETE', '/tftp/iPXE/00:16:3e:00:01:03'],
      ['DELETE', `/dhcp/${NET}/mac/52:54:00:bb:00:01`],
      ['POST', `/dhcp/${NET}`, { mac: '52:54:00:bb:00:02', ip: '192.0.2.21', hostname: 'two.example.test' }],
      ['POST', `/dhcp/${NET}`, { mac: '52:54:00:bb:00:03', ip: '192.0.2.20', hostname: 'three.example.test', filename: 'pxelinux.0', nextServer: '192.0.2.1' }],
    ];
    for (const [method, path, form] of writes) {
      const r = await http.send(method, path, { form });
      expect([method, path, r.status, r.body]).toEqual([method, path, 200, '']);
    }
    expect((await getStatus(http)).convergence.catchUpBacklog.tftp!['sim-c']).toBeGreaterThan(0);

    // Back, but every catch-up write fails: healthy, still behind.
    for (const method of ['POST', 'DELETE']) await c.faults({ fail_path: { method, pattern: '^/(tftp|dhcp)/', status: 500, body: 'not yet' } });
    await c.faults({ refuse: false });
    await waitFor(
      async () => {
        const s = await getStatus(http);
        const tried = (await c.proc.calls()).some((x) => idOf(x).startsWith('catch-up-'));
        return tried && s.backends.find((b) => b.name === 'sim-c')!.state === 'up' && s.features.every((f) => f.catching_up.includes('sim-c'));
      },
      5000,
      async () => JSON.stringify((await getStatus(http)).features),
    );
    for (let i = 0; i < 10; i++) {
      const r = await http.get('/tftp/PXELinux/00:16:3e:00:01:01', { 'x-request-id': `read-lagging-${i}` });
      expect(r.body).toBe('kernel overwritten while c was down\n');
      expect((await http.get(`/dhcp/${NET}/mac/52:54:00:bb:00:02`, { 'x-request-id': `read-lagging-dhcp-${i}` })).status).toBe(200);
    }

    await c.faults({ clear: true });
    await waitSettled(http, 10_000, 'sim-c catching up');
    await expectIdentical();
    for (let i = 0; i < 3; i++) {
      const r = await http.get('/tftp/PXELinux/00:16:3e:00:01:01', { 'x-request-id': `read-after-${i}` });
      expect(r.body).toBe('kernel overwritten while c was down\n');
    }
    const calls = await c.proc.calls();
    const lastCatchUp = calls.map(idOf).findLastIndex((id) => id.startsWith('catch-up-'));
    const reads = calls.map((x, i) => ({ x, i })).filter(({ x }) => x.method === 'GET' && /^\/(tftp|dhcp)\//.test(x.path));
    // No read of either feature reached sim-c before its last catch-up write; after it, reads did.
    expect(reads.filter(({ i }) => i < lastCatchUp).map(({ x }) => `${idOf(x)} ${x.path}`)).toEqual([]);
    expect(reads.map(({ x }) => idOf(x))).toEqual(['read-after-0', 'read-after-1', 'read-after-2']);
  });

  it('a backend that hangs while it is caught up does not hold up the catch-up of another: each replay gets snapshot_timeout_ms, not the response timeout', async () => {
    // A response timeout far beyond the bounds below: only the short replay timeout can meet them.
    await cluster(0, `${FAST_CHECKS}\nsnapshot_timeout_ms: 1000`, { responseTimeoutMs: 120_000, minSuccess: 1 });
    const http = daemon!.http;
    const [a, b, c] = sims as [ManagedSim, ManagedSim, ManagedSim];
    const stateOf = async (name: string) => (await getStatus(http)).backends.find((x) => x.name === name)!.state;
    // sim-b goes down first: it is first in line to be caught up.
    await b.faults({ refuse: true });
    await waitFor(async () => (await stateOf('sim-b')) === 'down', 5000, 'sim-b never seen down');
    await c.faults({ refuse: true });
    await waitFor(async () => (await stateOf('sim-c')) === 'down', 5000, 'sim-c never seen down');
    const macs = [1, 2, 3, 4, 5].map((i) => `00:16:3e:00:0c:0${i}`);
    for (const mac of macs) expect((await http.post(`/tftp/PXELinux/${mac}`, { pxeconfig: `kernel ${mac}\n` })).status).toBe(200);
    expect((await getStatus(http)).features.find((f) => f.name === 'tftp')!.catching_up).toEqual(['sim-b', 'sim-c']);

    // sim-b comes back healthy (its health checks pass) but never answers a TFTP write.
    await b.faults({ clear: true, fail_path: { method: 'POST', pattern: '^/tftp/', action: 'hang' } });
    await c.faults({ clear: true });
    await waitFor(
      async () => {
        const s = await getStatus(http);
        return s.convergence.catchUpBacklog.tftp!['sim-c'] === 0 && !s.features.find((f) => f.name === 'tftp')!.catching_up.includes('sim-c');
      },
      20_000,
      async () => `sim-c not caught up while sim-b hangs: ${JSON.stringify((await getStatus(http)).convergence.catchUpBacklog)}`,
    );
    expect(await c.view()).toEqual(await a.view());
    // sim-b was sent replays (they hung) and is still behind.
    expect((await b.proc.calls()).some((x) => x.method === 'POST' && idOf(x).startsWith('catch-up-'))).toBe(true);
    expect((await getStatus(http)).convergence.catchUpBacklog.tftp!['sim-b']).toBeGreaterThan(0);
    // A write to a key sim-b's replay holds waits for that replay at most, not for the response timeout.
    const write = await http.post(`/tftp/PXELinux/${macs[0]}`, { pxeconfig: 'written while sim-b hangs\n' });
    expect(write.status).toBe(200);

    await b.faults({ clear: true });
    await waitSettled(http, 20_000, 'sim-b caught up once it answers again');
    await expectIdentical();
    expect((await b.view()).tftp[`pxelinux.cfg/01-${macs[0]!.replace(/:/g, '-')}`]).toBe('written while sim-b hangs\n');
  });

  it('a DHCP create that landed on a backend whose answer was lost is caught up there, not stuck on 409', async () => {
    await cluster(0);
    const http = daemon!.http;
    const b = sims[1]!;
    await b.faults({ fail_path: { method: 'POST', pattern: '^/dhcp/', action: 'apply_then_hang' } });
    const rec = { mac: '52:54:00:bb:00:10', ip: '192.0.2.30', hostname: 'lost.example.test' };
    const r = await http.post(`/dhcp/${NET}`, rec);
    // Applied on all three, answered by two: min_success 2 is met.
    expect(r.status).toBe(200);
    await b.faults({ clear: true });
    await waitSettled(http, 10_000, 'sim-b catching up after a lost answer');
    await expectIdentical();
    expect((await b.view()).dhcp[rec.mac]).toEqual({ ip: rec.ip, hostname: rec.hostname, name: rec.hostname });
  });

  it('a reservation deleted and re-created differently while a backend was down is replaced there', async () => {
    await cluster(0);
    const http = daemon!.http;
    const c = sims[2]!;
    const mac = '52:54:00:bb:00:20';
    expect((await http.post(`/dhcp/${NET}`, { mac, ip: '192.0.2.40', hostname: 'old.example.test' })).status).toBe(200);
    await c.faults({ refuse: true });
    await waitFor(async () => (await getStatus(http)).backends.find((x) => x.name === 'sim-c')!.state === 'down', 5000, 'sim-c never seen down');
    // The ledger keeps only the latest value per key: one put, where sim-c still holds the old one.
    expect((await http.delete(`/dhcp/${NET}/mac/${mac}`)).status).toBe(200);
    expect((await http.post(`/dhcp/${NET}`, { mac, ip: '192.0.2.41', hostname: 'new.example.test' })).status).toBe(200);
    await c.faults({ refuse: false });
    await waitSettled(http, 10_000, 'sim-c catching up on a replaced reservation');
    await expectIdentical();
    expect((await c.view()).dhcp[mac]).toEqual({ ip: '192.0.2.41', hostname: 'new.example.test', name: 'new.example.test' });
  });

  it('an address that moved between reservations while a backend was down is caught up in any order', async () => {
    await cluster(0);
    const http = daemon!.http;
    const c = sims[2]!;
    const [x, y] = ['52:54:00:bb:00:40', '52:54:00:bb:00:41'];
    expect((await http.post(`/dhcp/${NET}`, { mac: x, ip: '192.0.2.70', hostname: 'x.example.test' })).status).toBe(200);
    await c.faults({ refuse: true });
    await waitFor(async () => (await getStatus(http)).backends.find((b) => b.name === 'sim-c')!.state === 'down', 5000, 'sim-c never seen down');
    // x gives .70 to y and comes back on .71. The ledger keeps x's latest value only, ordered
    // after y's: replayed in ledger order, y's create meets x still holding .70 on sim-c.
    expect((await http.delete(`/dhcp/${NET}/mac/${x}`)).status).toBe(200);
    expect((await http.post(`/dhcp/${NET}`, { mac: y, ip: '192.0.2.70', hostname: 'y.example.test' })).status).toBe(200);
    expect((await http.post(`/dhcp/${NET}`, { mac: x, ip: '192.0.2.71', hostname: 'x.example.test' })).status).toBe(200);
    await c.faults({ refuse: false });
    await waitSettled(http, 10_000, 'sim-c catching up on a moved address');
    await expectIdentical();
    expect((await c.view()).dhcp).toEqual({
      [x]: { ip: '192.0.2.71', hostname: 'x.example.test', name: 'x.example.test' },
      [y]: { ip: '192.0.2.70', hostname: 'y.example.test', name: 'y.example.test' },
    });
  });

  it('a delete by IP while the first backend is still behind removes the reservation everywhere', async () => {
    await cluster(0);
    const http = daemon!.http;
    const a = sims[0]!;
    await a.faults({ refuse: true });
    await waitFor(async () => (await getStatus(http)).backends.find((x) => x.name === 'sim-a')!.state === 'down', 5000, 'sim-a never seen down');
    const rec = { mac: '52:54:00:bb:00:30', ip: '192.0.2.45', hostname: 'missed.example.test' };
    expect((await http.post(`/dhcp/${NET}`, rec)).status).toBe(200);
    // sim-a is back and healthy but cannot catch up yet: it is first, and still behind.
    await a.faults({ fail_path: { method: 'POST', pattern: '^/dhcp/', status: 500, body: 'not yet' } });
    await a.faults({ refuse: false });
    await waitFor(
      async () => {
        const s = await getStatus(http);
        return s.backends.find((x) => x.name === 'sim-a')!.state === 'up' && s.features.find((f) => f.name === 'dhcp')!.catching_up.includes('sim-a');
      },
      5000,
      'sim-a never seen up and behind',
    );
    // Which reservations a delete by IP removes must come from a backend that is current.
    expect((await http.delete(`/dhcp/${NET}/ip/${rec.ip}`)).status).toBe(200);
    await a.faults({ clear: true });
    await waitSettled(http, 10_000, 'sim-a catching up after a delete by IP');
    await expectIdentical();
    expect((await a.view()).dhcp[rec.mac]).toBeUndefined();
  });

  it('a backend behind on a key is left out of a write to it: a failed write leaves it nothing to undo, and its catch-up removes the stale reservation', async () => {
    // Retries wait 1.5 s, catch-up runs every tick: the catch-up comes first. Live failures do not
    // eject sim-a before the write below reaches it.
    await cluster(
      0,
      `health_check: { interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 5, base_ejection_ms: 200, max_ejection_ms: 400 }
compensation_retry: { base_ms: 1500, max_ms: 3000 }`,
    );
    const http = daemon!.http;
    const [a, b] = sims as [ManagedSim, ManagedSim];
    const mac = '52:54:00:bb:00:50';
    expect((await http.post(`/dhcp/${NET}`, { mac, ip: '192.0.2.80', hostname: 'gone.example.test' })).status).toBe(200);
    await a.faults({ refuse: true });
    await waitFor(async () => (await getStatus(http)).backends.find((x) => x.name === 'sim-a')!.state === 'down', 5000, 'sim-a never seen down');
    expect((await http.delete(`/dhcp/${NET}/mac/${mac}`)).status).toBe(200);
    // sim-a back, still holding the reservation: its catch-up (a DELETE) fails for now, and so
    // will the rollback below (which also starts with a DELETE).
    await a.faults({ fail_path: { method: 'DELETE', pattern: '^/dhcp/', status: 500, body: 'not yet' } });
    await a.faults({ fail_path: { method: 'POST', pattern: '^/dhcp/', action: 'reset' } });
    await a.faults({ refuse: false });
    await waitFor(
      async () => {
        const s = await getStatus(http);
        const tried = (await a.proc.calls()).some((x) => idOf(x).startsWith('catch-up-'));
        return tried && s.backends.find((x) => x.name === 'sim-a')!.state === 'up' && s.features.find((f) => f.name === 'dhcp')!.catching_up.includes('sim-a');
      },
      5000,
      'sim-a never seen up and behind',
    );
    // A create that fails (sim-b refuses it). sim-a still holds the old reservation on this key
    // and has not replayed its delete: it must neither veto the write nor get it, so there is
    // nothing to roll back on it (docs/operations.md, catch-up).
    await b.faults({ fail_path: { method: 'POST', pattern: '^/dhcp/', status: 409, body: 'conflict on b' } });
    const w = await http.post(`/dhcp/${NET}`, { mac, ip: '192.0.2.81', hostname: 'again.example.test' });
    expect([w.status, w.body]).toEqual([409, 'conflict on b']);
    const sentToA = (await a.proc.calls()).filter((x) => x.method === 'POST' && x.body.includes('192.0.2.81'));
    expect(sentToA).toEqual([]);
    expect((await getStatus(http)).convergence.pendingCompensations).toHaveLength(0);
    await a.faults({ clear: true });
    await b.faults({ clear: true });
    await waitSettled(http, 15_000, 'rollback retried after catch-up');
    await expectIdentical();
    expect((await a.view()).dhcp[mac]).toBeUndefined();
  });

  it('a backend added by SIGHUP is bootstrapped from the whole ledger', async () => {
    const base = tempDir('pp-catchup-add-');
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const file = join(base, 'proxy-proxy.yaml');
    const f = '{ policy: replicate, on_backend_down: catch_up, min_success: 2 }';
    const write = (n: number) =>
      writeFileSync(file, clusterYaml({ sims: sims.slice(0, n), stateDir: join(base, 'state'), features: `  tftp: ${f}\n  dhcp: ${f}\n`, extra: FAST_CHECKS }));
    write(2);
    daemon = await startDaemonProcess(file);
    const http = daemon.http;
    for (let i = 1; i <= 6; i++) {
      const mac = `00:16:3e:00:02:0${i}`;
      expect((await http.post(`/tftp/PXEGrub2/${mac}`, { pxeconfig: `menu ${i}\n` })).status).toBe(200);
      expect((await http.post(`/tftp/${mac}`, { pxeconfig: `legacy ${i}\n` })).status).toBe(200);
      expect((await http.post(`/dhcp/${NET}`, { mac: `52:54:00:cc:00:0${i}`, ip: `192.0.2.5${i}`, hostname: `n${i}.example.test` })).status).toBe(200);
    }
    for (const i of [2, 4]) {
      expect((await http.delete(`/tftp/PXEGrub2/00:16:3e:00:02:0${i}`)).status).toBe(200);
      expect((await http.delete(`/dhcp/${NET}/mac/52:54:00:cc:00:0${i}`)).status).toBe(200);
    }
    expect((await http.post('/tftp/PXEGrub2/00:16:3e:00:02:01', { pxeconfig: 'menu 1, second version\n' })).status).toBe(200);
    expect((await sims[2]!.view()).tftp).toEqual({});

    write(3);
    daemon.signal('SIGHUP');
    await daemon.waitForLine(/configuration reloaded/, 5000);
    const status = await getStatus(http);
    expect(status.features.find((x) => x.name === 'tftp')!.backends).toEqual(['sim-a', 'sim-b', 'sim-c']);
    await waitSettled(http, 10_000, 'new backend sim-c bootstrapping');
    await expectIdentical();
    const c = await sims[2]!.view();
    expect(Object.keys(c.dhcp).sort()).toEqual(['52:54:00:cc:00:01', '52:54:00:cc:00:03', '52:54:00:cc:00:05', '52:54:00:cc:00:06']);
    expect(c.tftp['grub2/grub.cfg-01-00-16-3e-00-02-01']).toBe('menu 1, second version\n');
    expect(c.tftp['grub2/grub.cfg-01-00-16-3e-00-02-02']).toBeUndefined();
    expect(c.tftp['pxelinux.cfg/01-00-16-3e-00-02-06']).toBe('legacy 6\n');
  });
});
