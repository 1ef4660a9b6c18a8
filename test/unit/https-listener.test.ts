// The HTTPS listener: a host is the CN of its certificate however the subject is written, and
// no TLS session is resumed (no tickets: nobody resumes, and sealing them cost a sixth of the CPU
// of a connection per REX job).
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls, { type TLSSocket } from 'node:tls';
import type { Config } from '../../src/config/types.js';
import { openListeners, peerIdentity, subjectCn, type BoundListener } from '../../src/http/listeners.js';
import { createPki, type Pki } from '../support/pki.js';

describe('subjectCn', () => {
  it('reads the first CN of a subject written one attribute per line', () => {
    expect(subjectCn('CN=host1.example.test')).toBe('host1.example.test');
    expect(subjectCn('C=US\nO=Example\nCN=h.example.test\nCN=second')).toBe('h.example.test');
    expect(subjectCn('O=Example')).toBeNull();
  });
});

describe('HTTPS listener', () => {
  let pki: Pki;
  let listener: BoundListener;
  const seen: { hasCert: boolean; certCn: string | null; legacy: unknown }[] = [];

  beforeAll(async () => {
    pki = await createPki();
    const server = await pki.issue('localhost', { server: true });
    const cfg = { bind_host: ['127.0.0.1'], https_port: 0, ssl_certificate: server.cert, ssl_private_key: server.key, ssl_ca_file: pki.caCert } as unknown as Config;
    [listener] = await openListeners(cfg, (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.push({ ...peerIdentity(socket), legacy: socket.getPeerCertificate()?.subject?.CN });
      res.end('ok');
    });
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => listener?.server.close(resolve));
  });

  function get(client: { cert: string; key: string } | undefined, session?: Buffer): Promise<{ reused: boolean; session: Buffer | undefined }> {
    return new Promise((resolve, reject) => {
      let ticket: Buffer | undefined;
      const req = https.request(
        {
          host: '127.0.0.1',
          port: listener.port,
          path: '/',
          ca: readFileSync(pki.caCert),
          servername: 'localhost',
          agent: false,
          ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
          ...(session ? { session } : {}),
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          const reused = socket.isSessionReused();
          res.resume();
          res.on('end', () => setTimeout(() => resolve({ reused, session: ticket }), 50));
        },
      );
      req.on('socket', (s) => (s as TLSSocket).on('session', (b: Buffer) => (ticket = b)));
      req.on('error', reject);
      req.end();
    });
  }

  it('knows a host by its CN, also when the subject needs escaping or has a multi-valued RDN', async () => {
    seen.length = 0;
    for (const cn of ['host1.example.test', 'a, b', 'x+OU=y']) await get(await pki.issue(cn));
    await get(undefined);
    expect(seen.map((s) => [s.hasCert, s.certCn])).toEqual([
      [true, 'host1.example.test'],
      [true, 'a, b'],
      [true, seen[2]!.legacy],
      [false, null],
    ]);
    // What the decoded certificate says, whichever way it was read.
    expect(seen.slice(0, 2).map((s) => s.legacy)).toEqual(['host1.example.test', 'a, b']);
  }, 60_000);

  it('does not resume TLS sessions (no tickets are sealed)', async () => {
    const host = await pki.issue('host2.example.test');
    const first = await get(host);
    const second = await get(host, first.session);
    expect(second.reused).toBe(false);
    // The same client against a plain TLS server that issues tickets does resume: the check can fail.
    const server = await pki.issue('localhost', { server: true });
    const plain = tls.createServer({ cert: readFileSync(server.cert), key: readFileSync(server.key) }, (s) => s.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = listener.port;
    try {
      listener.port = (plain.address() as { port: number }).port;
      const a = await get(host);
      const b = await get(host, a.session);
      expect(b.reused).toBe(true);
    } finally {
      listener.port = port;
      plain.close();
    }
  }, 60_000);
});
