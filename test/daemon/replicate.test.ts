// `replicate` through the daemon against real simulator processes.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';
import { client } from '../support/http-client.js';
import { freshDatabase } from '../support/postgres.js';

const MAC = '00:11:22:33:44:55';
const FILE = 'pxelinux.cfg/01-00-11-22-33-44-55';
const SLOW_CHECKS = '{ interval_ms: 60000, timeout_ms: 300, rise: 1, fall: 1 }';

/** The state driver the saga log and ledger are on: the same behaviour on both. */
async function stateYaml(driver: 'sqlite' | 'postgresql'): Promise<string> {
  return driver === 'sqlite' ? '' : `state: { driver: postgresql, url: "${await freshDatabase()}", pool_size: 4 }`;
}

describe.each(['sqlite', 'postgresql'] as const)('replicate (state on %s): TFTP and DHCP writes land on every backend or on none', (driver) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      extra: await stateYaml(driver),
      backends: 3,
      healthCheck: SLOW_CHECKS,
      // Refuse: every write lands everywhere or nowhere (catch_up is covered in test/converge).
      features: `
  tftp: { policy: replicate, on_backend_down: refuse }
  dhcp: { policy: replicate, on_backend_down: refuse }
`,
    });
  });
  afterAll(() => h.stop());
  beforeEach(async () => {
    for (const s of h.sims) {
      await s.faults({ clear: true });
      await s.faults({ refuse: false });
      await s.reset();
      await s.clearCalls();
    }
    for (const b of h.daemon.runtime.backends.values()) {
      b.health.clearEjection();
      b.health.recordCheck(true, 'test reset');
    }
  });

  it('all succeed: every backend holds the config, Foreman sees one empty 200', async () => {
    const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'kernel vmlinuz\n' });
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
    expect(r.headers['content-type']).toBe('text/html;charset=utf-8');
    for (const s of h.sims) expect((await s.state()).tftp[FILE]).toBe('kernel vmlinuz\n');
    const read = await h.http.get(`/tftp/PXELinux/${MAC}`);
    expect(read.status).toBe(200);
    expect(read.body).toBe('kernel vmlinuz\n');
    // The saga closed with every backend's answer recorded (they wait in memory until it ends).
    const store = h.daemon.converge.store;
    let last;
    for (let id = 1; id < 1000; id++) last = (await store.getSaga(id)) ?? last;
    expect(last).toMatchObject({ status: 'completed', answerStatus: 200, route: 'tftp.create' });
    expect(Object.values(last!.results).map((r) => r.outcome)).toEqual(['applied', 'applied', 'applied']);
    expect(Object.keys(last!.snapshots).sort()).toEqual(h.sims.map((s) => s.name));
  });

  it('one answers 409: the others get their previous content back byte for byte, Foreman gets the 409', async () => {
    const before = 'previous config\nwith two lines and a trailing tab\t\n';
    // Each backend already held a config for this MAC, written directly, not through the daemon.
    for (const s of h.sims) expect((await client(s.url).post(`/tftp/PXELinux/${MAC}`, { pxeconfig: before })).status).toBe(200);
    await h.sims[2]!.faults({ fail_path: { method: 'POST', pattern: '^/tftp/', status: 409, body: 'conflict on c' } });
    const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'new config\n' });
    expect(r.status).toBe(409);
    expect(r.body).toBe('conflict on c');
    for (const s of h.sims) expect((await s.state()).tftp[FILE]).toBe(before);
  });

  it('one answers 409 where nothing existed: what the write created is removed again', async () => {
    await h.sims[1]!.faults({ fail_path: { method: 'POST', pattern: '^/tftp/', status: 409, body: 'no' } });
    const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'new config\n' });
    expect(r.status).toBe(409);
    for (const s of h.sims) expect((await s.state()).tftp[FILE]).toBeUndefined();
  });

  it('one refuses connections: 503 and nothing written anywhere', async () => {
    await h.sims[1]!.faults({ refuse: true });
    const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'new config\n' });
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/sim-b/);
    for (const s of [h.sims[0]!, h.sims[2]!]) expect((await s.state()).tftp[FILE]).toBeUndefined();
  });

  it('connection cut mid-write on one: the write is undone on the others, 503', async () => {
    await h.sims[2]!.faults({ fail_path: { method: 'POST', pattern: '^/tftp/', action: 'reset' } });
    const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'new config\n' });
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/sim-c .*rolled back on/);
    for (const s of h.sims) expect((await s.state()).tftp[FILE]).toBeUndefined();
  });

  it('applied on one but its answer never came: undone there too, the others restored', async () => {
    const before = 'kept\n';
    for (const s of h.sims) expect((await client(s.url).post(`/tftp/PXELinux/${MAC}`, { pxeconfig: before })).status).toBe(200);
    await h.sims[0]!.faults({ fail_path: { method: 'POST', pattern: '^/tftp/', action: 'apply_then_hang' } });
    const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'lost answer\n' });
    expect(r.status).toBe(503);
    await h.sims[0]!.faults({ clear: true });
    for (const s of h.sims.slice(1)) expect((await s.state()).tftp[FILE]).toBe(before);
    // sim-a applied the write; the daemon's restore POST was swallowed too while the fault
    // held, so sim-a is the one backend left out of step — and the log says so.
    const logs = h.daemon.logs.query(undefined) as { logs: { level: string; message: string }[] };
    expect(logs.logs.some((l) => l.level === 'ERROR' && /rollback incomplete.*sim-a/.test(l.message))).toBe(true);
  });

  it('one is known down by health checks: refused before anything is written', async () => {
    const b = h.daemon.runtime.backends.get('sim-c')!;
    b.health.recordCheck(false, 'test');
    const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'x\n' });
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/nothing was written.*sim-c \(down\)/);
    for (const s of h.sims) expect((await s.calls()).filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('a drained backend is left out of the write', async () => {
    const b = h.daemon.runtime.backends.get('sim-c')!;
    b.health.setOperational('drained', 'test');
    try {
      const r = await h.http.post(`/tftp/PXELinux/${MAC}`, { pxeconfig: 'drained\n' });
      expect(r.status).toBe(200);
      expect((await h.sims[0]!.state()).tftp[FILE]).toBe('drained\n');
      expect((await h.sims[2]!.state()).tftp[FILE]).toBeUndefined();
    } finally {
      b.health.setOperational('active', 'test');
    }
  });

  it('DHCP: a clash on one backend rolls the reservation back on the others', async () => {
    const clash = { hostname: 'other.example.test', mac: '52:54:00:bb:00:01', ip: '192.0.2.40' };
    expect((await client(h.sims[1]!.url).post('/dhcp/192.0.2.0', clash)).status).toBe(200);
    const r = await h.http.post('/dhcp/192.0.2.0', {
      hostname: 'host1.example.test',
      name: 'host1.example.test',
      mac: '52:54:00:aa:00:01',
      ip: '192.0.2.40',
    });
    expect(r.status).toBe(409);
    for (const s of h.sims) {
      const macs = (await s.state()).dhcp.reservations.map((x: { mac: string }) => x.mac);
      expect(macs).not.toContain('52:54:00:aa:00:01');
    }
    expect((await h.sims[1]!.state()).dhcp.reservations.map((x: { mac: string }) => x.mac)).toContain('52:54:00:bb:00:01');
  });

  it('DHCP: a reservation deleted everywhere is re-created where the delete had succeeded if one fails', async () => {
    const rec = { hostname: 'h2.example.test', name: 'h2.example.test', mac: '52:54:00:aa:00:02', ip: '192.0.2.41', nextServer: '192.0.2.1', filename: 'pxelinux.0' };
    expect((await h.http.post('/dhcp/192.0.2.0', rec)).status).toBe(200);
    await h.sims[0]!.faults({ fail_path: { method: 'DELETE', pattern: '^/dhcp/', status: 400, body: 'omshell failed' } });
    const r = await h.http.delete(`/dhcp/192.0.2.0/mac/${rec.mac}`);
    expect(r.status).toBe(400);
    expect(r.body).toBe('omshell failed');
    for (const s of h.sims) {
      const got = await client(s.url).get(`/dhcp/192.0.2.0/mac/${rec.mac}`);
      expect(got.status).toBe(200);
      expect(JSON.parse(got.body)).toMatchObject({ ip: rec.ip, hostname: rec.hostname, filename: 'pxelinux.0', nextServer: '192.0.2.1' });
    }
  });

  it('DHCP unused_ip: the address handed out is free on every backend', async () => {
    // sim-b holds .30; a range of two addresses leaves .31 as the only one free everywhere.
    expect((await client(h.sims[1]!.url).post('/dhcp/192.0.2.0', { hostname: 'x.example.test', mac: '52:54:00:cc:00:01', ip: '192.0.2.30' })).status).toBe(200);
    const r = await h.http.get('/dhcp/192.0.2.0/unused_ip?from=192.0.2.30&to=192.0.2.31');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ ip: '192.0.2.31' });
  });
});
