// Hosts keep their identity through proxy-proxy: templates and registration are relayed to
// Foreman by proxy-proxy itself (no backend at all here), and Foreman sees the address the host
// connected from, 127.0.0.5, not proxy-proxy's. Foreman failing or gone gives the host the smart
// proxy's own error status and text.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { startFakeForeman, type FakeForeman } from '../support/fake-foreman.js';
import { hostClient, type HostClient } from '../support/host-client.js';
import { createPki, type Pki } from '../support/pki.js';

const TEMPLATE_URL = 'http://proxy-vip.example.test:8000';
const REGISTRATION_URL = 'https://proxy-vip.example.test:8443';
const TEMPLATE_URL_Q = encodeURIComponent(TEMPLATE_URL);
const REGISTRATION_URL_Q = encodeURIComponent(REGISTRATION_URL);
const FAILED_SCRIPT = 'echo "Internal Server Error"\nexit 1\n';

describe('templates and registration keep the host address (no backends)', () => {
  let foreman: FakeForeman;
  let daemon: Daemon;
  let host: HostClient;
  const last = () => foreman.requests.at(-1)!;

  beforeAll(async () => {
    foreman = await startFakeForeman();
    daemon = new Daemon(
      parseConfig(`bind_host: 127.0.0.1
http_port: 0
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-state-'))}
foreman_url: ${foreman.url}
features:
  templates: { settings: { template_url: '${TEMPLATE_URL}' } }
  registration: { settings: { registration_url: '${REGISTRATION_URL}/' } }
`),
      { silent: true },
    );
    await daemon.start();
    host = hostClient(daemon.url('http')!);
  });
  afterAll(async () => {
    await host.close();
    await daemon.stop();
    await foreman.close();
  });

  it('a template: Foreman sees the host address, the configured url and the host headers; a claimed X-Forwarded-For is replaced', async () => {
    const r = await host.get('/unattended/provision?token=abc', { 'x-forwarded-for': '203.0.113.9', 'x-rhn-provisioning-mac-0': 'eth0 52:54:00:12:34:56' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html;charset=utf-8');
    expect(r.body).toBe(`FAKE-FOREMAN GET /unattended/provision query=token=abc&url=${TEMPLATE_URL_Q} xff=127.0.0.5\n`);
    expect(foreman.requests).toHaveLength(1);
    const seen = last();
    expect(seen.xff).toBe('127.0.0.5');
    expect(seen.url).toBe(`/unattended/provision?token=abc&url=${TEMPLATE_URL_Q}`);
    expect(seen.headers['x-rhn-provisioning-mac-0']).toBe('eth0 52:54:00:12:34:56');
    expect(seen.headers['user-agent']).toBe('curl/8.5.0');
    expect(seen.headers['accept']).toBe('application/json,version=2, */*');
  });

  it('a hostgroup template and userdata: the same identity, segments CGI-escaped, route parameters not passed on', async () => {
    const hg = await host.get('/unattended/provision/Kickstart%20default/base%20group?token=abc');
    expect(hg.status).toBe(200);
    expect(last().url).toBe(`/unattended/provision/Kickstart+default/base+group?token=abc&url=${TEMPLATE_URL_Q}`);
    expect(last().xff).toBe('127.0.0.5');
    const ud = await host.get('/userdata/user-data');
    expect(ud.status).toBe(200);
    expect(last().url).toBe(`/userdata/user-data?url=${TEMPLATE_URL_Q}`);
    expect(last().xff).toBe('127.0.0.5');
  });

  it("a POST to …/built: Foreman's 201 reaches the host as the smart proxy passes it on (200, Foreman's body)", async () => {
    const before = foreman.requests.length;
    const r = await host.post('/unattended/built?token=abc', 'installed\n', { 'content-type': 'text/plain' });
    expect(foreman.requests.length - before).toBe(1);
    const seen = last();
    expect(seen.status).toBe(201);
    expect(seen).toMatchObject({ method: 'POST', xff: '127.0.0.5', body: 'installed\n' });
    expect(seen.url).toBe(`/unattended/built?token=abc&Content-Type=text%2Fplain&url=${TEMPLATE_URL_Q}`);
    expect(seen.headers['content-type']).toBe('text/plain');
    expect(r.status).toBe(200);
    expect(r.body).toBe(`FAKE-FOREMAN POST /unattended/built query=token=abc&Content-Type=text%2Fplain&url=${TEMPLATE_URL_Q} xff=127.0.0.5\n`);
    // The GET form of the report, as older installers send it.
    const g = await host.get('/unattended/built?token=abc');
    expect([g.status, last().status, last().xff, last().url]).toEqual([200, 201, '127.0.0.5', `/unattended/built?token=abc&url=${TEMPLATE_URL_Q}`]);
  });

  it("Foreman answers 500: the host gets the smart proxy's error status and text", async () => {
    foreman.reply = () => ({ status: 500, contentType: 'text/html', body: '<h1>Oops</h1>' });
    try {
      const t = await host.get('/unattended/provision?token=abc');
      expect(t.status).toBe(500);
      expect(t.headers['content-type']).toBe('application/json');
      expect(t.body).toBe(
        `Failed to proxy /provision for {"token"=>"abc", "kind"=>"provision"}: Error retrieving unattended/provision for {"token"=>"abc", "url"=>"${TEMPLATE_URL}"} from 127.0.0.1: Net::HTTPInternalServerError: 500 `,
      );
      const p = await host.post('/unattended/failed?token=abc', 'log\n', { 'content-type': 'text/plain' });
      expect(p.status).toBe(500);
      expect(p.body).toBe(
        `Failed to proxy /failed for {"token"=>"abc", "kind"=>"failed"}: Error retrieving unattended/failed for {"token"=>"abc", "Content-Type"=>"text/plain", "url"=>"${TEMPLATE_URL}"} from 127.0.0.1: Net::HTTPInternalServerError: 500 `,
      );
      const u = await host.get('/userdata/meta-data');
      expect(u.status).toBe(500);
      expect(u.body).toBe(
        `Failed to retrieve meta-data userdata template for {"kind"=>"meta-data"}: Error retrieving userdata/meta-data for {"url"=>"${TEMPLATE_URL}"} from 127.0.0.1: Net::HTTPInternalServerError: 500 `,
      );
      // A text/plain error from Foreman is the host's to read; anything else is the fixed script.
      const g = await host.get('/register');
      expect([g.status, g.headers['content-type'], g.body]).toEqual([500, 'text/html;charset=utf-8', FAILED_SCRIPT]);
      foreman.reply = () => ({ status: 500, contentType: 'text/plain', body: 'echo "Registration failed"\nexit 1\n' });
      const r = await host.post('/register', 'host%5Bname%5D=h1.example.test', { 'content-type': 'application/x-www-form-urlencoded' });
      expect([r.status, r.body]).toEqual([500, 'echo "Registration failed"\nexit 1\n']);
    } finally {
      foreman.reply = undefined;
    }
  });

  it('registration GET: Foreman sees the host address after what the host sent, url is registration_url, Authorization passes', async () => {
    const before = foreman.requests.length;
    const r = await host.get('/register?activation_keys=ak1&setup_insights=false', { authorization: 'Bearer jwt-token', 'x-forwarded-for': '198.51.100.7' });
    expect(foreman.requests.length - before).toBe(1);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html;charset=utf-8');
    const seen = last();
    expect(seen).toMatchObject({ method: 'GET', xff: '198.51.100.7, 127.0.0.5' });
    expect(seen.url).toBe(`/register?activation_keys=ak1&setup_insights=false&url=${REGISTRATION_URL_Q}`);
    expect(seen.headers['authorization']).toBe('Bearer jwt-token');
    expect(r.body).toBe(`FAKE-FOREMAN GET /register query=activation_keys=ak1&setup_insights=false&url=${REGISTRATION_URL_Q} xff=198.51.100.7, 127.0.0.5\n`);
  });

  it('registration POST, form and JSON: sent to Foreman once each, with the host address', async () => {
    const before = foreman.requests.length;
    const form = await host.post('/register', 'host%5Bname%5D=h1.example.test&host%5Bip%5D=127.0.0.5', {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Bearer jwt-token',
    });
    expect(form.status).toBe(200);
    expect(foreman.requests.length - before).toBe(1);
    // A form stays in the body; only url goes into the query.
    expect(last()).toMatchObject({ method: 'POST', xff: '127.0.0.5', url: `/register?url=${REGISTRATION_URL_Q}`, body: 'host%5Bname%5D=h1.example.test&host%5Bip%5D=127.0.0.5' });
    expect(last().headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(last().headers['authorization']).toBe('Bearer jwt-token');

    const json = await host.post('/register?organization_id=1', '{"host":{"name":"h2.example.test"}}', { 'content-type': 'application/json' });
    expect(json.status).toBe(200);
    expect(foreman.requests.length - before).toBe(2);
    expect(last()).toMatchObject({ method: 'POST', xff: '127.0.0.5', url: `/register?organization_id=1&url=${REGISTRATION_URL_Q}`, body: '{"host":{"name":"h2.example.test"}}' });
    expect(last().headers['content-type']).toBe('application/json');
  });

  // Last: Foreman stays down from here on.
  it("Foreman down: templates answer the smart proxy's 400 (userdata 500) and registration its failing script", async () => {
    await foreman.close();
    const port = new URL(foreman.url).port;
    const refused = `Failed to open TCP connection to 127.0.0.1:${port} (Connection refused - connect(2) for 127.0.0.1:${port})`;
    const t = await host.get('/unattended/provision?token=abc');
    expect([t.status, t.body]).toEqual([400, `Failed to proxy /provision for {"token"=>"abc", "kind"=>"provision"}: ${refused}`]);
    const b = await host.post('/unattended/built?token=abc', 'x', { 'content-type': 'text/plain' });
    expect([b.status, b.body]).toEqual([400, `Failed to proxy /built for {"token"=>"abc", "kind"=>"built"}: ${refused}`]);
    const u = await host.get('/userdata/user-data');
    expect([u.status, u.body]).toEqual([500, `Failed to retrieve user-data userdata template for {"kind"=>"user-data"}: ${refused}`]);
    for (const r of [await host.get('/register'), await host.post('/register', 'host%5Bname%5D=h3', { 'content-type': 'application/x-www-form-urlencoded' })]) {
      expect([r.status, r.headers['content-type'], r.body]).toEqual([500, 'text/html;charset=utf-8', FAILED_SCRIPT]);
    }
  });
});

describe('the relays reach Foreman over TLS with the configured identity', () => {
  let pki: Pki;
  let foreman: FakeForeman;
  const stops: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    pki = await createPki();
    const server = await pki.issue('foreman.example.test', { server: true });
    foreman = await startFakeForeman({ tls: { ...server, ca: pki.caCert } });
  });
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    await foreman.close();
  });

  /** A daemon with these top-level lines and both relays; its host client from 127.0.0.5. */
  async function relayDaemon(top: string): Promise<HostClient> {
    const daemon = new Daemon(
      parseConfig(`bind_host: 127.0.0.1
http_port: 0
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-state-'))}
${top}
features:
  templates: { settings: { template_url: '${TEMPLATE_URL}' } }
  registration: {}
`),
      { silent: true },
    );
    await daemon.start();
    const host = hostClient(daemon.url('http')!);
    stops.push(async () => {
      await host.close();
      await daemon.stop();
    });
    return host;
  }

  it('foreman_ssl_cert is presented and foreman_ssl_ca verifies Foreman', async () => {
    const own = await pki.issue('relay.example.test');
    const host = await relayDaemon(
      `foreman_url: ${foreman.url}\nforeman_ssl_ca: ${pki.caCert}\nforeman_ssl_cert: ${own.cert}\nforeman_ssl_key: ${own.key}`,
    );
    const r = await host.get('/unattended/provision?token=abc');
    expect(r.status).toBe(200);
    expect(foreman.requests.at(-1)).toMatchObject({ clientCn: 'relay.example.test', xff: '127.0.0.5' });
    // Without registration_url, url is where the host reached proxy-proxy.
    const g = await host.get('/register');
    expect(g.status).toBe(200);
    expect(foreman.requests.at(-1)!.url).toMatch(/^\/register\?url=http%3A%2F%2F127\.0\.0\.1%3A\d+$/);
  });

  it('without foreman_ssl_*, the listener certificate and CA are used', async () => {
    const listener = await pki.issue('proxy-proxy.example.test', { server: true });
    const host = await relayDaemon(
      `https_port: 0\nssl_certificate: ${listener.cert}\nssl_private_key: ${listener.key}\nssl_ca_file: ${pki.caCert}\nforeman_url: ${foreman.url}`,
    );
    expect((await host.get('/userdata/user-data')).status).toBe(200);
    expect(foreman.requests.at(-1)).toMatchObject({ clientCn: 'proxy-proxy.example.test', xff: '127.0.0.5' });
  });

  it('a Foreman certificate the CA did not sign: nothing is sent, the host gets the smart proxy error', async () => {
    const other = await createPki();
    const own = await pki.issue('relay.example.test');
    const host = await relayDaemon(`foreman_url: ${foreman.url}\nforeman_ssl_ca: ${other.caCert}\nforeman_ssl_cert: ${own.cert}\nforeman_ssl_key: ${own.key}`);
    const before = foreman.requests.length;
    const r = await host.get('/unattended/provision?token=abc');
    expect(r.status).toBe(400);
    expect(r.body).toMatch(/^Failed to proxy \/provision for \{"token"=>"abc", "kind"=>"provision"\}: SSL_connect returned=1 errno=0 peeraddr=127\.0\.0\.1:\d+ state=error: /);
    expect(foreman.requests.length).toBe(before);
  });
});

describe('a Foreman that never answers', () => {
  let silent: Server;
  const sockets = new Set<Socket>();
  let daemon: Daemon;
  let host: HostClient;

  beforeAll(async () => {
    // Accepts connections and reads requests, never answers.
    silent = createServer((socket) => {
      sockets.add(socket);
      socket.resume();
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    daemon = new Daemon(
      parseConfig(`bind_host: 127.0.0.1
http_port: 0
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-state-'))}
request_deadline_ms: 1000
foreman_url: http://127.0.0.1:${(silent.address() as AddressInfo).port}
features:
  templates: { settings: { template_url: '${TEMPLATE_URL}' } }
  registration: {}
`),
      { silent: true },
    );
    await daemon.start();
    host = hostClient(daemon.url('http')!);
  });
  afterAll(async () => {
    await host.close();
    await daemon.stop();
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  });

  it("the host gets the smart proxy's read-timeout error once request_deadline_ms has passed", async () => {
    const t = await host.get('/unattended/provision?token=abc');
    expect([t.status, t.body]).toEqual([400, 'Failed to proxy /provision for {"token"=>"abc", "kind"=>"provision"}: Net::ReadTimeout with #<TCPSocket:(closed)>']);
    const r = await host.get('/register');
    expect([r.status, r.body]).toEqual([500, FAILED_SCRIPT]);
  });
});
