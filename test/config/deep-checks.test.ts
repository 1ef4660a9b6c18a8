// check-config on this host: certificates readable and matching their keys, ports free.
import { describe, it, expect, beforeAll } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { deepChecks } from '../../src/config/deep-checks.js';
import { createPki, type Pki } from '../support/pki.js';

describe('deep checks', () => {
  let pki: Pki;
  let dir: string;
  beforeAll(async () => {
    pki = await createPki();
    dir = mkdtempSync(join(tmpdir(), 'pp-deep-'));
  });

  const config = (extra: string) =>
    parseConfig(`bind_host: 127.0.0.1\n${extra}\nstate_dir: ${dir}\nbackends:\n  a: { url: 'http://127.0.0.1:1' }\nfeatures:\n  dns: {}\n`);

  it('accepts a matching certificate and key', async () => {
    const s = await pki.issue('proxy.example.test', { server: true });
    const found = await deepChecks(config(`https_port: 0\nssl_certificate: ${s.cert}\nssl_private_key: ${s.key}\nssl_ca_file: ${pki.caCert}`));
    expect(found).toEqual([]);
  });

  it('finds a key that belongs to another certificate, a missing file and a non-PEM CA', async () => {
    const a = await pki.issue('a.example.test', { server: true });
    const b = await pki.issue('b.example.test', { server: true });
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate');
    const found = await deepChecks(
      config(`https_port: 0\nssl_certificate: ${a.cert}\nssl_private_key: ${b.key}\nssl_ca_file: ${junk}`),
    );
    expect(found.map((f) => [f.level, f.path, f.message.split(':')[0]])).toEqual([
      ['error', 'ssl_private_key', `does not match the certificate ${a.cert}`],
      ['error', 'ssl_ca_file', 'not a PEM certificate bundle'],
    ]);
    const missing = await deepChecks(config(`https_port: 0\nssl_certificate: ${join(dir, 'nope.pem')}\nssl_private_key: ${a.key}\nssl_ca_file: ${pki.caCert}`));
    expect(missing[0]).toMatchObject({ level: 'error', path: 'ssl_certificate' });
    expect(missing[0]!.message).toMatch(/cannot read .*nope\.pem: ENOENT/);
  });

  it('checks the relays\' files towards Foreman under their own names', async () => {
    const a = await pki.issue('a.example.test');
    const b = await pki.issue('b.example.test');
    const found = await deepChecks(
      config(`http_port: 0\nforeman_url: https://foreman.example.test\nforeman_ssl_cert: ${a.cert}\nforeman_ssl_key: ${b.key}\nforeman_ssl_ca: ${join(dir, 'nope.pem')}`),
    );
    expect(found.map((f) => [f.level, f.path])).toEqual([
      ['error', 'foreman_ssl_key'],
      ['error', 'foreman_ssl_ca'],
    ]);
    expect(found[0]!.message).toBe(`does not match the certificate ${a.cert}`);
  });

  it('warns about a port in use', async () => {
    const busy: Server = createServer();
    const port = await new Promise<number>((r) => busy.listen(0, '127.0.0.1', () => r((busy.address() as { port: number }).port)));
    try {
      const found = await deepChecks(config(`http_port: ${port}`));
      expect(found).toEqual([{ level: 'warning', path: 'http_port', message: `127.0.0.1:${port} is in use (by a running proxy-proxy?)` }]);
    } finally {
      busy.close();
    }
  });
});
