// The simulator's control API: state, calls, reset, and the faults other tests inject.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from '@jest/globals';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createPki } from '../support/pki.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function request(
  base: string,
  method: string,
  path: string,
  opts: { form?: Record<string, string>; headers?: Record<string, string>; timeoutMs?: number; tls?: https.RequestOptions } = {},
): Promise<Answer> {
  const url = new URL(base);
  const body = opts.form ? Buffer.from(new URLSearchParams(opts.form).toString()) : undefined;
  const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
  if (body) {
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
    headers['Content-Length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    // The path goes out as written (a URL object would read '//x' as a host).
    const target = { host: url.hostname, port: url.port, path, method, headers, agent: false as const, ...opts.tls };
    const req = client.request(target, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.setTimeout(opts.timeoutMs ?? 5000, () => req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

describe('simulator control API', () => {
  let sim: SimProcess;

  beforeAll(async () => {
    sim = await startSimProcess({ name: 'control' });
  });
  afterAll(async () => {
    expect(await sim.stop()).toBe(0);
  });
  beforeEach(async () => {
    await sim.faults({ clear: true });
    await sim.reset();
    await sim.clearCalls();
  });

  it('refuse stops listening and false listens again on the same port', async () => {
    expect((await request(sim.url, 'GET', '/features')).status).toBe(200);
    const state = await sim.faults({ refuse: true });
    expect(state.refuse).toBe(true);
    await expect(request(sim.url, 'GET', '/features')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await sim.faults({ refuse: false });
    const again = await request(sim.url, 'GET', '/features');
    expect(again.status).toBe(200);
    expect(new URL(sim.url).port).toBe(String(sim.port));
  });

  it('hang accepts a request and never answers it; clearing answers new ones', async () => {
    await sim.faults({ hang: true });
    await expect(request(sim.url, 'GET', '/version', { timeoutMs: 300 })).rejects.toMatchObject({ code: 'CLIENT_TIMEOUT' });
    expect((await sim.calls()).map((c) => c.path)).toEqual(['/version']);
    await sim.faults({ hang: false });
    expect((await request(sim.url, 'GET', '/version')).status).toBe(200);
  });

  it('fail_nth fails exactly the n-th call from now, once', async () => {
    await sim.faults({ fail_nth: { n: 2, status: 503, body: 'injected' } });
    expect((await request(sim.url, 'GET', '/features')).status).toBe(200);
    const second = await request(sim.url, 'GET', '/features');
    expect(second).toMatchObject({ status: 503, body: 'injected' });
    expect(second.headers['content-type']).toBe('application/json');
    expect((await request(sim.url, 'GET', '/features')).status).toBe(200);
    expect((await sim.faults({})).fail_nth).toBeNull();
  });

  it('fail_path fails every matching call without touching state, until cleared', async () => {
    await sim.faults({ fail_path: { method: 'POST', pattern: '^/dns', status: 409, body: 'conflict' } });
    const form = { fqdn: 'x.example.test', value: '192.0.2.77', type: 'A' };
    for (let i = 0; i < 2; i++) expect(await request(sim.url, 'POST', '/dns/', { form })).toMatchObject({ status: 409, body: 'conflict' });
    expect((await request(sim.url, 'GET', '/dhcp')).status).toBe(200);
    expect((await sim.state()).dns).toEqual([]);
    await sim.faults({ clear: true });
    expect((await request(sim.url, 'POST', '/dns/', { form })).status).toBe(200);
    expect((await sim.state()).dns).toEqual([{ name: 'x.example.test', type: 'A', value: '192.0.2.77' }]);
  });

  it('delay_ms delays every answer', async () => {
    await sim.faults({ delay_ms: 300 });
    const t0 = Date.now();
    expect((await request(sim.url, 'GET', '/features')).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
  });

  it('calls lists every API request with method, path, query, headers and body', async () => {
    await request(sim.url, 'POST', '/tftp/PXELinux/00:11:22:33:44:55?x=1', {
      form: { pxeconfig: 'hello\n' },
      headers: { 'X-Request-Id': 'req-42' },
    });
    await request(sim.url, 'GET', '//features');
    const calls = await sim.calls();
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ method: 'POST', path: '/tftp/PXELinux/00:11:22:33:44:55', query: 'x=1', body: 'pxeconfig=hello%0A' });
    expect(calls[0].headers['x-request-id']).toBe('req-42');
    expect(typeof calls[0].at).toBe('number');
    expect(calls[1]).toMatchObject({ method: 'GET', path: '//features', query: '' });
    await sim.clearCalls();
    expect(await sim.calls()).toEqual([]);
  });

  it('reset brings every store back to the seed', async () => {
    await request(sim.url, 'POST', '/tftp/PXELinux/00:11:22:33:44:55', { form: { pxeconfig: 'x' } });
    await request(sim.url, 'POST', '/dns/', { form: { fqdn: 'y.example.test', value: '192.0.2.78', type: 'A' } });
    await request(sim.url, 'POST', '/dhcp/192.0.2.0', { form: { hostname: 'h', mac: '52:54:00:00:00:01', ip: '192.0.2.30' } });
    let state = await sim.state();
    expect(state.tftp['pxelinux.cfg/01-00-11-22-33-44-55']).toBe('x');
    expect(state.dhcp.reservations).toHaveLength(1);
    await sim.reset();
    state = await sim.state();
    expect(state.tftp).toEqual({});
    expect(state.tftpDirs).toEqual([]);
    expect(state.dns).toEqual([]);
    expect(state.dhcp.reservations).toEqual([]);
    expect(state.dhcp.leases.map((l) => l.ip)).toEqual(['192.0.2.150']);
  });

  it('unused_ip does not hand out the same address twice within the blacklist period', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 11; i++) {
      const r = await request(sim.url, 'GET', '/dhcp/198.51.100.0/unused_ip?from=198.51.100.50&to=198.51.100.60');
      seen.add((JSON.parse(r.body) as { ip: string }).ip);
    }
    expect(seen.size).toBe(11);
    const none = await request(sim.url, 'GET', '/dhcp/198.51.100.0/unused_ip?from=198.51.100.50&to=198.51.100.60');
    expect(none.body).toBe('{"ip":null}');
  });
});

describe('simulator over TLS', () => {
  it('serves HTTPS on the API port, lets clients without a certificate in, cuts unknown CAs', async () => {
    const pki = await createPki();
    const server = await pki.issue('localhost', { server: true });
    const sim = await startSimProcess({
      name: 'tls',
      args: ['--ssl-certificate', server.cert, '--ssl-private-key', server.key, '--ssl-ca-file', pki.caCert],
    });
    try {
      expect(sim.url.startsWith('https://')).toBe(true);
      const ca = readFileSync(pki.caCert);
      expect((await request(sim.url, 'GET', '/features', { tls: { ca } })).status).toBe(200);
      // Without trusted_hosts a gated module still wants a certificate.
      expect(await request(sim.url, 'GET', '/tftp/serverName', { tls: { ca } })).toMatchObject({
        status: 403,
        body: 'No client SSL certificate supplied',
      });
      const good = await pki.issue('anyone.example.test');
      const ok = await request(sim.url, 'GET', '/tftp/serverName', {
        tls: { ca, cert: readFileSync(good.cert), key: readFileSync(good.key) },
      });
      expect(ok.status).toBe(200);
      const bad = await pki.issueFromOtherCa('foreman.example.test');
      await expect(
        request(sim.url, 'GET', '/features', { tls: { ca, cert: readFileSync(bad.cert), key: readFileSync(bad.key) } }),
      ).rejects.toThrow();
      await expect(request(sim.url.replace('https:', 'http:'), 'GET', '/features')).rejects.toThrow();
    } finally {
      await sim.stop();
    }
  });
});
