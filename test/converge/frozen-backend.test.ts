// A backend that accepts and never answers, or dies between two health checks, must never cost
// Foreman a timeout or a refused write: every request has a deadline below Foreman's own
// timeout, calls in flight to a backend are released the moment it is marked down, and under
// catch_up a backend whose snapshot read gets no answer is simply down for that write.
import { describe, it, expect, afterEach } from '@jest/globals';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { client, type Client } from '../support/http-client.js';
import { clusterYaml, getStatus, startSims, tempDir, waitFor, waitSettled, type ManagedSim } from '../support/converge-cluster.js';

const RESPONSE_TIMEOUT_MS = 30_000;
const MAC = '00:16:3e:00:09:01';
const FILE = 'pxelinux.cfg/01-00-16-3e-00-09-01';
const NET = '192.0.2.0';

describe('frozen, hung and dying backends', () => {
  let sims: ManagedSim[] = [];
  let daemon: Daemon | undefined;
  let http: Client | undefined;
  afterEach(async () => {
    await http?.close();
    await daemon?.stop();
    for (const s of sims) await s.faults({ clear: true }).catch(() => undefined);
    await Promise.all(sims.map((s) => s.stop()));
    [sims, daemon, http] = [[], undefined, undefined];
  });

  /** sim-a and sim-b; `order` of the features' backends decides where reads go first. */
  async function cluster(opts: { extra: string; features?: string; order?: string; responseTimeoutMs?: number }): Promise<void> {
    const base = tempDir('pp-frozen-');
    sims = await startSims(['sim-a', 'sim-b'], base);
    const order = opts.order ?? 'sim-a, sim-b';
    const features =
      opts.features ??
      `  tftp: { policy: replicate, on_backend_down: catch_up, min_success: 1, backends: [${order}] }\n  dhcp: { policy: replicate, on_backend_down: refuse, backends: [${order}] }\n`;
    daemon = new Daemon(parseConfig(clusterYaml({ sims, stateDir: join(base, 'state'), responseTimeoutMs: opts.responseTimeoutMs ?? RESPONSE_TIMEOUT_MS, features, extra: opts.extra })), {
      silent: true,
    });
    await daemon.start();
    http = client(daemon.url('http')!);
  }

  const timed = async <T,>(fn: () => Promise<T>): Promise<[T, number]> => {
    const started = Date.now();
    const r = await fn();
    return [r, Date.now() - started];
  };

  const stateOf = async (name: string) => (await getStatus(http!)).backends.find((b) => b.name === name)!.state;

  it('a write hung on one backend is answered at the request deadline, long before the response timeout', async () => {
    // Health checks never run and live failures never eject: only the deadline can help. (The
    // response timeout is shorter here: the catch-up replay, sent while the fault holds, waits for it.)
    const responseTimeoutMs = 6000;
    await cluster({
      responseTimeoutMs,
      extra: `request_deadline_ms: 1500
snapshot_timeout_ms: ${responseTimeoutMs}
health_check: { interval_ms: 600000, timeout_ms: 300, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 100, base_ejection_ms: 200, max_ejection_ms: 400 }
compensation_retry: { base_ms: 100, max_ms: 500 }`,
    });
    const [a, b] = sims as [ManagedSim, ManagedSim];
    await b.faults({ fail_path: { method: 'POST', pattern: '^/(tftp|dhcp)/', action: 'apply_then_hang' } });

    // catch_up: applied on sim-a, sim-b may have applied it: Foreman hears 200, sim-b is caught up.
    const [w, ms] = await timed(() => http!.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'at the deadline\n' }));
    expect([w.status, w.body]).toEqual([200, '']);
    expect(ms).toBeLessThan(responseTimeoutMs);
    expect((await a.view()).tftp[FILE]).toBe('at the deadline\n');

    // refuse: the write is undone on sim-a (and retried on sim-b once it answers again).
    const [d, dms] = await timed(() => http!.post(`/dhcp/${NET}`, { mac: '52:54:00:dd:00:01', ip: '192.0.2.90', hostname: 'late.example.test' }));
    expect(d.status).toBe(503);
    expect(d.body).toMatch(/sim-b \(DEADLINE\)/);
    expect(dms).toBeLessThan(responseTimeoutMs);
    expect((await a.view()).dhcp['52:54:00:dd:00:01']).toBeUndefined();

    await b.faults({ clear: true });
    await waitSettled(http!, 20_000, 'after the hung writes');
    const [va, vb] = await Promise.all([a.view(), b.view()]);
    expect(vb).toEqual(va);
    expect(vb.tftp[FILE]).toBe('at the deadline\n');
    expect(vb.dhcp['52:54:00:dd:00:01']).toBeUndefined();
  });

  it('a read waiting on a backend that freezes moves on to the next one as soon as it is marked down', async () => {
    await cluster({
      order: 'sim-b, sim-a',
      extra: `request_deadline_ms: ${RESPONSE_TIMEOUT_MS}
snapshot_timeout_ms: ${RESPONSE_TIMEOUT_MS}
health_check: { interval_ms: 100, timeout_ms: 200, rise: 1, fall: 2 }`,
    });
    const b = sims[1]!;
    expect((await http!.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'kernel read\n' })).status).toBe(200);
    await b.proc.clearCalls();
    await b.faults({ hang: true });
    const [r, ms] = await timed(() => http!.get(`/tftp/PXELinux/${MAC}`, { 'x-request-id': 'read-frozen' }));
    expect([r.status, r.body]).toEqual([200, 'kernel read\n']);
    expect(ms).toBeLessThan(RESPONSE_TIMEOUT_MS);
    // It did wait on sim-b (first in order), and was let go when sim-b was marked down.
    expect((await b.proc.calls()).some((c) => c.headers['x-request-id'] === 'read-frozen')).toBe(true);
    expect(await stateOf('sim-b')).toBe('down');
  });

  it('a snapshot read waiting on a backend that freezes is released when it is marked down; later writes do not wait on it', async () => {
    await cluster({
      extra: `request_deadline_ms: ${RESPONSE_TIMEOUT_MS}
snapshot_timeout_ms: ${RESPONSE_TIMEOUT_MS}
health_check: { interval_ms: 100, timeout_ms: 200, rise: 1, fall: 2 }`,
    });
    const [a, b] = sims as [ManagedSim, ManagedSim];
    await b.faults({ hang: true });
    const [w, ms] = await timed(() => http!.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'while frozen\n' }, { 'x-request-id': 'write-frozen' }));
    expect([w.status, w.body]).toEqual([200, '']);
    expect(ms).toBeLessThan(RESPONSE_TIMEOUT_MS);
    expect((await b.proc.calls()).some((c) => c.headers['x-request-id'] === 'write-frozen')).toBe(true);
    expect((await a.view()).tftp[FILE]).toBe('while frozen\n');

    for (let i = 0; i < 3; i++) {
      const r = await http!.post(`/tftp/PXELinux/00:16:3e:00:09:1${i}`, { pxeconfig: `later ${i}\n` }, { 'x-request-id': `later-${i}` });
      expect(r.status).toBe(200);
    }
    expect((await b.proc.calls()).filter((c) => String(c.headers['x-request-id']).startsWith('later-'))).toEqual([]);

    await b.faults({ clear: true });
    await waitSettled(http!, 10_000, 'sim-b catching up after its freeze');
    expect(await b.view()).toEqual(await a.view());
  });

  it('catch_up: a backend killed between two health checks does not refuse the next writes, and is caught up when it returns', async () => {
    // Checks far apart: the daemon learns of the death only from the refused connections.
    await cluster({
      extra: `health_check: { interval_ms: 600000, timeout_ms: 300, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 3, base_ejection_ms: 200, max_ejection_ms: 400 }`,
      features: `  tftp: { policy: replicate, on_backend_down: catch_up, min_success: 1 }\n  dhcp: { policy: replicate, on_backend_down: catch_up, min_success: 1 }\n`,
    });
    const [a, b] = sims as [ManagedSim, ManagedSim];
    await waitFor(async () => daemon!.runtime.backends.get('sim-b')!.health.snapshot().lastCheck !== null, 5000, 'first health check of sim-b');
    expect(await stateOf('sim-b')).toBe('up');
    await b.stop();
    const writes: [string, Record<string, string>][] = [
      [`/tftp/PXELinux/${MAC}`, { pxeconfig: 'after the kill\n' }],
      [`/dhcp/${NET}`, { mac: '52:54:00:dd:00:02', ip: '192.0.2.91', hostname: 'one.example.test' }],
      [`/tftp/PXEGrub2/${MAC}`, { pxeconfig: 'grub after the kill\n' }],
    ];
    for (const [path, form] of writes) {
      const r = await http!.post(path, form);
      expect([path, r.status, r.body]).toEqual([path, 200, '']);
    }
    expect((await getStatus(http!)).features.find((f) => f.name === 'tftp')!.catching_up).toEqual(['sim-b']);
    await b.startAgain();
    await waitSettled(http!, 10_000, 'sim-b back after a kill');
    const [va, vb] = await Promise.all([a.view(), b.view()]);
    expect(vb).toEqual(va);
    expect(vb.tftp[FILE]).toBe('after the kill\n');
    expect(vb.dhcp['52:54:00:dd:00:02']).toMatchObject({ ip: '192.0.2.91' });
  });

  it('refuse: a backend that refuses the snapshot read still stops the write, nothing written', async () => {
    await cluster({
      extra: `health_check: { interval_ms: 600000, timeout_ms: 300, rise: 1, fall: 1 }`,
      features: `  tftp: { policy: replicate, on_backend_down: refuse }\n`,
    });
    const [a, b] = sims as [ManagedSim, ManagedSim];
    await waitFor(async () => daemon!.runtime.backends.get('sim-b')!.health.snapshot().lastCheck !== null, 5000, 'first health check of sim-b');
    await b.stop();
    const r = await http!.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'refused\n' });
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/nothing was written.*sim-b \(ECONNREFUSED\)/);
    expect((await a.view()).tftp[FILE]).toBeUndefined();
  });
});
