// OpenSCAP host paths need a client certificate on HTTPS, any CN (smart_proxy_openscap
// `authorize_with_ssl_client`). A backend behind proxy-proxy only sees proxy-proxy's certificate,
// so proxy-proxy checks the host's before forwarding (docs/host-identity.md).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { createPki, type Pki } from '../support/pki.js';
import { startPluginHarness, type PluginHarness } from './plugin-harness.js';

let pki: Pki;
let h: PluginHarness;

beforeAll(async () => {
  pki = await createPki();
  const server = await pki.issue('proxy.example.test', { server: true });
  h = await startPluginHarness(
    [{ name: 'sim-a', args: ['--features', 'openscap'] }],
    '  openscap: {}\n',
    `https_port: 0\nssl_certificate: ${server.cert}\nssl_private_key: ${server.key}\nssl_ca_file: ${pki.caCert}\n`,
  );
}, 60_000);
afterAll(() => h.stop());

async function fetchContent(path: string, withCert: boolean): Promise<{ status: number; body: string }> {
  const cert = withCert ? await pki.issue('host1.example.test') : undefined;
  const dispatcher = new Agent({
    localAddress: '127.0.0.5',
    connect: { ca: readFileSync(pki.caCert), ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}) },
  });
  try {
    const res = await request(`${h.daemon.url('https')}${path}`, { dispatcher });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await dispatcher.close();
  }
}

describe('OpenSCAP policy content and tailoring over HTTPS', () => {
  it('without a client certificate: 403 from proxy-proxy, nothing forwarded; with one: forwarded', async () => {
    const sim = h.sims[0]!;
    await sim.clearCalls();
    const compliance = async () => (await sim.calls()).map((c) => c.path).filter((p) => p.startsWith('/compliance'));
    for (const path of ['/compliance/policies/1/content/abc', '/compliance/policies/1/tailoring/abc']) {
      expect(await fetchContent(path, false)).toEqual({ status: 403, body: 'No client SSL certificate supplied' });
    }
    expect(await compliance()).toEqual([]);
    await fetchContent('/compliance/policies/1/content/abc', true);
    expect(await compliance()).toEqual(['/compliance/policies/1/content/abc']);
  });
});
