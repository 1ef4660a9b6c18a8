// `failover` and `primary` through the daemon against real simulator processes.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';

const SLOW_CHECKS = '{ interval_ms: 60000, timeout_ms: 300, rise: 1, fall: 1 }';
const BMC_AUTH = { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` };

describe('failover', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      backends: 2,
      healthCheck: SLOW_CHECKS,
      features: `
  dns: { policy: failover }
  dhcp: { policy: failover }
  bmc: { policy: failover }
  realm: { policy: failover }
  puppetca: { policy: primary }
`,
    });
  });
  afterAll(() => h.stop());
  beforeEach(async () => {
    for (const s of h.sims) {
      await s.faults({ clear: true });
      await s.faults({ hang: false });
      await s.faults({ refuse: false });
      await s.reset();
      await s.clearCalls();
    }
    for (const b of h.daemon.runtime.backends.values()) {
      b.health.recordCheck(true, 'test reset');
      b.health.clearEjection();
    }
  });

  const dnsPosts = async (i: number) => (await h.sims[i]!.calls()).filter((c) => c.method === 'POST' && c.path.startsWith('/dns'));

  it('uses the first backend while it answers', async () => {
    const r = await h.http.post('/dns/', { fqdn: 'a.example.test', value: '192.0.2.10', type: 'A' });
    expect(r.status).toBe(200);
    expect(await dnsPosts(0)).toHaveLength(1);
    expect(await dnsPosts(1)).toHaveLength(0);
  });

  it('moves on after connection refused', async () => {
    await h.sims[0]!.faults({ refuse: true });
    const r = await h.http.post('/dns/', { fqdn: 'b.example.test', value: '192.0.2.11', type: 'A' });
    expect(r.status).toBe(200);
    const dns = (await h.sims[1]!.state()).dns;
    expect(dns).toContainEqual(expect.objectContaining({ name: 'b.example.test', type: 'A', value: '192.0.2.11' }));
  });

  it('moves on after a backend that accepts and never answers, for a read', async () => {
    await h.sims[0]!.faults({ hang: true });
    const r = await h.http.get('/dhcp');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)[0].network).toBe('192.0.2.0');
    expect((await h.sims[1]!.calls()).map((c) => c.path)).toContain('/dhcp');
  });

  it('never sends an exactly-once route twice: a hanging BMC power-on is not repeated elsewhere', async () => {
    await h.sims[0]!.faults({ hang: true });
    const r = await h.http.put('/bmc/host1.example.test/chassis/power/on', undefined, BMC_AUTH);
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/may have been applied/);
    const onA = (await h.sims[0]!.calls()).filter((c) => c.method === 'PUT');
    const onB = (await h.sims[1]!.calls()).filter((c) => c.method === 'PUT');
    expect(onA).toHaveLength(1);
    expect(onB).toHaveLength(0);
  });

  it('an exactly-once route does move on when the first backend surely never got it (refused)', async () => {
    await h.sims[0]!.faults({ refuse: true });
    const r = await h.http.post('/realm/EXAMPLE.TEST/', { hostname: 'h.example.test', userclass: 'x' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toHaveProperty('randompassword');
    expect((await h.sims[1]!.calls()).filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it('a 500 from an exactly-once route is passed back, not retried', async () => {
    await h.sims[0]!.faults({ fail_path: { method: 'POST', pattern: '^/realm/', status: 500, body: 'ipa exploded' } });
    const r = await h.http.post('/realm/EXAMPLE.TEST/', { hostname: 'h2.example.test', userclass: 'x' });
    expect(r.status).toBe(500);
    expect((await h.sims[1]!.calls()).filter((c) => c.method === 'POST')).toHaveLength(0);
  });

  it('a 5xx on a route safe to repeat moves on', async () => {
    await h.sims[0]!.faults({ fail_path: { method: 'GET', pattern: '^/dhcp$', status: 500, body: 'boom' } });
    const r = await h.http.get('/dhcp');
    expect(r.status).toBe(200);
    // The first backend was asked and failed; the answer is the second one's.
    const asked = async (i: number) => (await h.sims[i]!.calls()).filter((c) => c.method === 'GET' && c.path === '/dhcp');
    expect(await asked(0)).toHaveLength(1);
    expect(await asked(1)).toHaveLength(1);
    expect(r.body).not.toContain('boom');
  });

  it('no backend left: 503 with a plain-text reason', async () => {
    await h.sims[0]!.faults({ refuse: true });
    await h.sims[1]!.faults({ refuse: true });
    const r = await h.http.get('/dhcp');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^No backend available for dhcp: .*sim-b \(ECONNREFUSED\)/);
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('after repeated failures the hanging backend is ejected and no request waits for it again', async () => {
    await h.sims[0]!.faults({ hang: true });
    for (let i = 0; i < 3; i++) expect((await h.http.get('/dhcp')).status).toBe(200);
    await h.sims[0]!.clearCalls();
    for (let i = 0; i < 5; i++) expect((await h.http.get('/dhcp')).status).toBe(200);
    expect(await h.sims[0]!.calls()).toHaveLength(0);
    expect(h.daemon.runtime.backends.get('sim-a')!.health.ejected).toBe(true);
  });

  it('primary: only the first backend, 503 when it is down, never moved', async () => {
    const ok = await h.http.get('/puppet/ca');
    expect(ok.status).toBe(200);
    await h.sims[0]!.faults({ refuse: true });
    const r = await h.http.get('/puppet/ca');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/Primary backend sim-a/);
    expect((await h.sims[1]!.calls()).filter((c) => c.path.startsWith('/puppet'))).toHaveLength(0);
  });
});
