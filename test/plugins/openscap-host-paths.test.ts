// OpenSCAP host paths need a client certificate on HTTPS, any CN (smart_proxy_openscap
// `authorize_with_ssl_client`). A backend behind proxy-proxy only sees proxy-proxy's certificate,
// so proxy-proxy checks the host's before forwarding (docs/host-identity.md).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { createPki, type Pki } from '../support/pki.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';

let pki: Pki;
let sim: SimProcess;
let daemon: Daemon;

beforeAll(async () => {
  pki = await createPki();
  const server = await pki.issue('proxy.example.test', { server: true });
  sim = await startSimProcess({ name: 'sim-a', args: ['--features', 'openscap'] });
  // Health checks that a loaded machine does not fail: what is asserted is where requests go.
  daemon = new Daemon(
    parseConfig(`bind_host: 127.0.0.1
https_port: 0
ssl_certificate: ${server.cert}
ssl_private_key: ${server.key}
ssl_ca_file: ${pki.caCert}
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-state-'))}
foreman_url: http://127.0.0.1:9
health_check: { interval_ms: 60000, timeout_ms: 10000, rise: 1, fall: 3 }
backends:
  sim-a: { url: ${sim.url} }
features:
  openscap: {}
`),
    { silent: true },
  );
  await daemon.start();
}, 60_000);
afterAll(async () => {
  await daemon.stop();
  await sim.stop();
});

async function fetchContent(path: string, withCert: boolean): Promise<{ status: number; body: string }> {
  const cert = withCert ? await pki.issue('host1.example.test') : undefined;
  const dispatcher = new Agent({
    localAddress: '127.0.0.5',
    connect: { ca: readFileSync(pki.caCert), ...(cert ? { cert: readFileSync(cert.cert), key: readFileSync(cert.key) } : {}) },
  });
  try {
    const res = await request(`${daemon.url('https')}${path}`, { dispatcher });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await dispatcher.close();
  }
}

describe('OpenSCAP policy content and tailoring over HTTPS', () => {
  it('without a client certificate: 403 from proxy-proxy, nothing forwarded; with one: forwarded', async () => {
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
