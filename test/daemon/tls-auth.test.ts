// trusted_hosts over real TLS with generated certificates, as the smart proxy does it.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { createPki, type Pki } from '../support/pki.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';
import { client } from '../support/http-client.js';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';

describe('HTTPS listener: client certificates and trusted_hosts', () => {
  let pki: Pki;
  let sim: SimProcess;
  let daemon: Daemon;
  let base: string;
  let ca: Buffer;

  beforeAll(async () => {
    pki = await createPki();
    ca = readFileSync(pki.caCert);
    const server = await pki.issue('proxy-proxy.example.test', { server: true });
    // The backend itself is an HTTPS smart proxy that trusts only proxy-proxy's client cert.
    const simServer = await pki.issue('backend.example.test', { server: true });
    const own = await pki.issue('proxy-proxy.example.test');
    sim = await startSimProcess({
      name: 'sim-a',
      args: ['--ssl-certificate', simServer.cert, '--ssl-private-key', simServer.key, '--ssl-ca-file', pki.caCert, '--trusted-hosts', 'proxy-proxy.example.test'],
    });
    const yaml = `bind_host: 127.0.0.1
https_port: 0
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-state-'))}
ssl_certificate: ${server.cert}
ssl_private_key: ${server.key}
ssl_ca_file: ${pki.caCert}
trusted_hosts: [foreman.example.test]
foreman_url: http://127.0.0.1:9
backends:
  sim-a:
    url: ${sim.url}
    ssl_certificate: ${own.cert}
    ssl_private_key: ${own.key}
    ssl_ca_file: ${pki.caCert}
features:
  tftp: {}
  templates: { settings: { template_url: 'https://proxy-proxy.example.test:8443' } }
  logs: {}
`;
    daemon = new Daemon(parseConfig(yaml), { silent: true });
    await daemon.start();
    base = daemon.url('https')!;
  });
  afterAll(async () => {
    await daemon?.stop();
    await sim?.stop();
  });

  const as = async (cn: string | null) => {
    if (cn === null) return client(base, { ca });
    const c = await pki.issue(cn);
    return client(base, { ca, cert: readFileSync(c.cert), key: readFileSync(c.key) });
  };

  it('trusted CN: the request reaches the backend over mTLS and answers', async () => {
    const c = await as('foreman.example.test');
    const r = await c.get('/tftp/serverName');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toHaveProperty('serverName');
    const v2 = await c.get('/v2/features');
    expect(v2.status).toBe(200);
    expect(JSON.parse(v2.body).tftp.state).toBe('running');
    await c.close();
  });

  it('untrusted CN: 403 with the smart proxy text, path relative to the module', async () => {
    const c = await as('intruder.example.test');
    const r = await c.get('/tftp/serverName');
    expect(r.status).toBe(403);
    expect(r.body).toBe('Untrusted client intruder.example.test attempted to access /serverName. Check :trusted_hosts: in settings.yml');
    expect((await c.get('/v2/features')).status).toBe(403);
    await c.close();
  });

  it('no certificate: gated routes 403, ungated ones answer', async () => {
    const c = await as(null);
    const r = await c.get('/tftp/serverName');
    expect(r.status).toBe(403);
    expect(r.body).toBe('could not read client cert from environment');
    expect((await c.get('/features')).status).toBe(200);
    expect((await c.get('/version')).status).toBe(200);
    expect((await c.get('/unattended/templateServer')).status).not.toBe(403);
    await c.close();
  });

  it('a certificate from an unknown CA never reaches HTTP', async () => {
    const other = await pki.issueFromOtherCa('foreman.example.test');
    const c = client(base, { ca, cert: readFileSync(other.cert), key: readFileSync(other.key) });
    await expect(c.get('/features')).rejects.toThrow();
    await c.close();
  });

  it('refuses TLS 1.1', async () => {
    const url = new URL(base);
    const outcome = await new Promise<string>((resolve) => {
      const s = connect({ host: url.hostname, port: Number(url.port), ca, maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
      s.once('secureConnect', () => {
        s.destroy();
        resolve('connected');
      });
      s.once('error', (e) => resolve(`error: ${(e as Error).message}`));
    });
    expect(outcome).toMatch(/^error/);
  });
});
