// Bad input gets the smart proxy's status and a clear message from proxy-proxy itself and
// reaches no backend.
import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import { request } from 'undici';
import { startHarness, type Harness } from '../support/daemon-harness.js';

describe('bad input is refused before any backend sees it', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backends: 2, extra: 'max_body_bytes: 4096' });
  });
  afterAll(() => h.stop());
  beforeEach(async () => {
    for (const s of h.sims) await s.clearCalls();
  });
  afterEach(async () => {
    // Only proxy-proxy's own health checks may have reached a backend.
    for (const s of h.sims) expect((await s.calls()).filter((c) => c.headers['user-agent'] !== 'proxy-proxy health-check')).toEqual([]);
  });

  it.each([
    ['POST', '/tftp/PXELinux/00:11:22:33:44', { pxeconfig: 'x' }, 403, 'Invalid MAC address: 00:11:22:33:44'],
    ['GET', '/tftp/PXELinux/00-11-22-33-44-55', undefined, 403, 'Invalid MAC address: 00-11-22-33-44-55'],
    ['POST', '/tftp/Foo/00:11:22:33:44:55', { pxeconfig: 'x' }, 403, 'Unrecognized pxeboot config type: Foo'],
    ['POST', '/tftp/PXELinux/00:11:22:33:44:55', {}, 400, 'TFTP: Failed to create pxe config file: Invalid parameters received'],
    ['POST', '/tftp/PXELinux/create_default', {}, 400, 'TFTP: Failed to create PXE default file: Default config not supplied'],
    ['POST', '/tftp/fetch_boot_file', { prefix: '../../outside/evil', path: 'http://127.0.0.1/x' }, 400, 'TFTP: Failed to fetch boot file: TFTP destination outside of tftproot'],
    ['POST', '/tftp/fetch_boot_file', { prefix: 'boot/x', path: 'gopher://127.0.0.1/x' }, 400, 'TFTP: Failed to fetch boot file: Cannot fetch boot file, unknown protocol for medium source path: gopher://127.0.0.1/x'],
    ['POST', '/dhcp/192.0.2.0', { hostname: 'h.example.test', mac: '52:54:00:aa:00', ip: '192.0.2.25' }, 400, 'Invalid MAC 52:54:00:aa:00'],
    ['POST', '/dhcp/192.0.2.0', { hostname: 'h.example.test', mac: '52:54:00:aa:00:05', ip: '192.0.2.300' }, 400, 'Invalid IP Address 192.0.2.300'],
    ['POST', '/dhcp/192.0.2.0', { mac: '52:54:00:aa:00:06', ip: '192.0.2.26' }, 400, 'Must provide hostname'],
    ['GET', '/dhcp/not-an-ip', undefined, 400, 'Invalid IP Address not-an-ip'],
    ['DELETE', '/dhcp/192.0.2.0/mac/zz', undefined, 400, 'Invalid MAC zz'],
    ['POST', '/dns/', { fqdn: 'x.example.test', value: '192.0.2.1' }, 400, "'create' requires fqdn, value, and type parameters"],
    ['POST', '/dns/', { fqdn: 'mx.example.test', value: 'mail.example.test', type: 'MX' }, 400, "unrecognized 'type' parameter: MX"],
    ['POST', '/dns/', { fqdn: 'x.example.test', value: '192.0.2.300', type: 'A' }, 400, 'invalid address: '],
    ['DELETE', '/dns/host2.example.test/PTR', undefined, 400, 'Invalid reverse DNS host2.example.test'],
  ] as const)('%s %s → %s', async (method, path, form, status, message) => {
    const r = await h.http.send(method, path, { form: form as Record<string, string> | undefined });
    expect(r.status).toBe(status);
    expect(r.body).toBe(message);
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('a JSON body is not read (only forms are, as on the smart proxy)', async () => {
    const r = await h.http.send('POST', '/dhcp/192.0.2.0', {
      body: JSON.stringify({ hostname: 'h', mac: '52:54:00:aa:00:09', ip: '192.0.2.29' }),
      headers: { 'content-type': 'application/json' },
    });
    expect(r.status).toBe(400);
    expect(r.body).toBe('Invalid MAC ');
  });

  it('an oversized body → 413', async () => {
    const r = await h.http.post('/tftp/PXELinux/00:11:22:33:44:55', { pxeconfig: 'x'.repeat(10_000) });
    expect(r.status).toBe(413);
    expect(r.body).toMatch(/exceeds the limit of 4096 bytes/);
  });

  it('a body that lies about its length is cut off without reaching a backend', async () => {
    const url = new URL(h.daemon.url('http')!);
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve) => {
      const s = connect(Number(url.port), url.hostname, () => {
        s.write('POST /tftp/PXELinux/00:11:22:33:44:55 HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\npxeconfig=short');
        s.end();
      });
      let data = '';
      s.on('data', (d) => (data += d.toString()));
      s.on('close', () => resolve(data));
      s.on('error', () => resolve(data));
    });
    expect(answer).not.toMatch(/^HTTP\/1.1 200/);
  });

  it('unknown route or method: the smart proxy 404', async () => {
    for (const [m, p] of [
      ['GET', '/no/such/path'],
      ['DELETE', '/features'],
      ['GET', '/features/'],
      ['GET', '/tftp/serverName/'],
      ['GET', '/tftp/00:11:22:33:44:88'],
      ['PATCH', '/tftp/PXELinux/00:11:22:33:44:55'],
    ] as const) {
      const r = await request(`${h.daemon.url('http')}${p}`, { method: m, headers: { accept: 'application/json' } });
      expect([m, p, r.statusCode, await r.body.text(), r.headers['x-cascade']]).toEqual([m, p, 404, 'Requested url was not found', 'pass']);
    }
  });

  it('double slashes are collapsed', async () => {
    const r = await h.http.get('//features');
    expect(r.status).toBe(200);
    // That one is a root document, answered by proxy-proxy; nothing went to a backend.
  });
});
