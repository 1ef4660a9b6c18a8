// Settings that would leak a backend's identity are overridden from config; round-robin failover
// spreads requests.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';

describe('identity overrides and round robin', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      backends: 2,
      simArgs: ['--template-url', 'http://backend-a.example.test:8000'],
      features: `
  tftp:
    settings: { tftp_servername: tftp-vip.example.test }
  templates:
    settings: { template_url: 'http://proxy-vip.example.test:8000' }
  httpboot:
    settings: { http_port: 8000, https_port: null }
  dns: { policy: failover, order: round_robin }
`,
    });
    await h.daemon.runtime.catalog.refreshAll();
  });
  afterAll(() => h.stop());

  it('/v2/features names the VIP, not a backend', async () => {
    const v2 = JSON.parse((await h.http.get('/v2/features')).body);
    expect(v2.tftp.settings).toEqual({ tftp_servername: 'tftp-vip.example.test' });
    expect(v2.templates.settings).toEqual({ template_url: 'http://proxy-vip.example.test:8000' });
    expect(v2.httpboot.settings).toEqual({ http_port: 8000, https_port: null });
    expect(v2.dhcp).toMatchObject({ state: 'disabled' });
  });

  it('serverName and templateServer answer with the override, without asking a backend', async () => {
    for (const s of h.sims) await s.clearCalls();
    const sn = await h.http.get('/tftp/serverName');
    expect(sn.body).toBe('{"serverName":"tftp-vip.example.test"}');
    expect(sn.headers['content-type']).toBe('text/html;charset=utf-8');
    const ts = await h.http.get('/unattended/templateServer');
    expect(ts.body).toBe('{"templateServer":"http://proxy-vip.example.test:8000"}');
    expect(ts.headers['content-type']).toBe('application/json');
    for (const s of h.sims) expect((await s.calls()).filter((c) => c.path.startsWith('/tftp') || c.path.startsWith('/unattended'))).toEqual([]);
  });

  it('round_robin alternates the first backend tried', async () => {
    for (const s of h.sims) await s.clearCalls();
    for (let i = 0; i < 6; i++) {
      expect((await h.http.post('/dns/', { fqdn: `rr${i}.example.test`, value: `192.0.2.${10 + i}`, type: 'A' })).status).toBe(200);
    }
    for (const s of h.sims) expect((await s.calls()).filter((c) => c.method === 'POST')).toHaveLength(3);
  });
});
