// Two proxy-proxy processes behind a real HAProxy in TCP mode, configured with the haproxy.cfg of
// docs/high-availability.md (addresses and file names replaced). Foreman-like traffic over HTTPS
// with a client certificate, verified against the cluster name; one instance is SIGKILLed
// mid-run: only requests in flight on it may fail, every request after it succeeds.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki, type Pki } from '../support/pki.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';
import { startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { startDocumentedHaproxy, type Haproxy } from '../support/haproxy.js';
import { client, type Client, type Reply } from '../support/http-client.js';

const CLUSTER = 'proxy.example.com';
const FOREMAN = 'foreman.example.test';

const countOf = (text: string, what: string) => text.split(what).length - 1;

/** Waits for a condition, bounded in time (HAProxy checks every second). */
async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Sent {
  i: number;
  id: string;
  start: number;
  end: number;
  reply?: Reply;
  error?: string;
}

describe('HAProxy (TCP mode) in front of two instances', () => {
  let pki: Pki;
  let sims: SimProcess[];
  let dir: string;
  let instances: DaemonProcess[];
  let haproxy: Haproxy;
  let foreman: Client;
  let yaml: (name: string, ports?: { http: number; https: number }) => string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pp-ha-'));
    pki = await createPki(join(dir, 'pki'));
    // The instances' certificate carries the cluster name only: TLS passes through HAProxy.
    const server = await pki.issue(CLUSTER, { altNames: [CLUSTER] });
    const foremanCert = await pki.issue(FOREMAN);
    sims = await Promise.all([startSimProcess({ name: 'sim-a' }), startSimProcess({ name: 'sim-b' })]);
    yaml = (name: string, ports = { http: 0, https: 0 }) => `bind_host: 127.0.0.1
http_port: ${ports.http}
https_port: ${ports.https}
ssl_certificate: ${server.cert}
ssl_private_key: ${server.key}
ssl_ca_file: ${pki.caCert}
trusted_hosts: [${FOREMAN}]
state_dir: ${join(dir, name)}
shutdown_timeout_ms: 2000
foreman_url: http://127.0.0.1:9
backends:
${sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('')}features:
  dns: {}
  templates: { settings: { template_url: 'http://192.0.2.10:8000' } }
  logs: {}
`;
    instances = await Promise.all(['pp1', 'pp2'].map((n) => startDaemonProcess(dir, n, yaml(n))));
    const [a, b] = instances as [DaemonProcess, DaemonProcess];
    haproxy = await startDocumentedHaproxy(pki.caCert, [a.urls, b.urls]);
    // Foreman's RestClient opens a connection per call; the certificate is checked for the cluster name.
    foreman = client(
      `https://127.0.0.1:${haproxy.ports[0]}`,
      { ca: readFileSync(pki.caCert), cert: readFileSync(foremanCert.cert), key: readFileSync(foremanCert.key), servername: CLUSTER },
      { keepAlive: false },
    );
  }, 60_000);

  afterAll(async () => {
    await foreman?.close();
    await haproxy?.dispose();
    await Promise.all((instances ?? []).map((i) => i.stop()));
    await Promise.all((sims ?? []).map((s) => s.stop()));
  });

  it('passes TLS through: the cluster name verifies, the client certificate reaches proxy-proxy', async () => {
    const v2 = await foreman.get('/v2/features');
    expect(v2.status).toBe(200);
    expect(Object.keys(JSON.parse(v2.body))).toEqual(expect.arrayContaining(['dns', 'templates']));
    // Without a trusted certificate proxy-proxy itself refuses, exactly as a smart proxy does.
    const stranger = await pki.issue('stranger.example.test');
    const other = client(`https://127.0.0.1:${haproxy.ports[0]}`, {
      ca: readFileSync(pki.caCert),
      cert: readFileSync(stranger.cert),
      key: readFileSync(stranger.key),
      servername: CLUSTER,
    });
    try {
      const r = await other.get('/v2/features');
      expect(r.status).toBe(403);
      expect(r.body).toMatch(/^Untrusted client stranger\.example\.test attempted to access \/features/);
    } finally {
      await other.close();
    }
    const plain = client(`http://127.0.0.1:${haproxy.ports[1]}`);
    try {
      expect((await plain.get('/features')).status).toBe(200);
    } finally {
      await plain.close();
    }
  });

  it('kill -9 of one instance mid-run: only requests on it fail, everything after HAProxy notices succeeds', async () => {
    const [a, b] = instances as [DaemonProcess, DaemonProcess];
    // Slow backends keep requests in flight on both instances when the kill lands.
    await Promise.all(sims.map((s) => s.faults({ delay_ms: 100 })));
    const total = 240;
    const workers = 6;
    const sent: Sent[] = [];
    let next = 0;
    let killAt = Infinity;
    let deadAt = Infinity;
    let killing: Promise<void> | undefined;
    const servedBy = (p: DaemonProcess) =>
      new Set(p.records().flatMap((r) => (typeof r.request_id === 'string' && r.request_id.startsWith('ha-') ? [r.request_id] : [])));

    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        // Kill A once both instances have answered a share of the traffic.
        if (i === total / 3) {
          killAt = performance.now();
          killing = a.kill().then(() => {
            deadAt = performance.now();
          });
        }
        const id = `ha-${i}`;
        const s: Sent = { i, id, start: performance.now(), end: 0 };
        sent.push(s);
        try {
          s.reply =
            i % 4 === 3
              ? await foreman.get('/v2/features', { 'x-request-id': id })
              : await foreman.post('/dns/', { fqdn: `host${i}.example.test`, value: `192.0.2.${i % 250}`, type: 'A' }, { 'x-request-id': id });
        } catch (err) {
          s.error = (err as { code?: string }).code ?? String(err);
        }
        s.end = performance.now();
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    await killing;
    await Promise.all(sims.map((s) => s.faults({ delay_ms: 0 })));

    expect(deadAt).toBeLessThan(Infinity);
    const failed = sent.filter((s) => s.error !== undefined || s.reply!.status !== 200);
    const after = sent.filter((s) => s.start > deadAt);
    // The kill was mid-run: A had served requests, and plenty came after.
    expect(servedBy(a).size).toBeGreaterThan(0);
    expect(after.length).toBeGreaterThan(total / 3);
    // What failed was on A when it died: in flight, or a connection HAProxy had just handed to A
    // and cut when it marked A down (on-marked-down shutdown-sessions). At most one per worker,
    // none before the kill, and none reached B.
    expect(failed.length).toBeLessThanOrEqual(workers);
    const onB = servedBy(b);
    for (const f of failed) {
      expect(f.end).toBeGreaterThanOrEqual(killAt);
      expect(onB.has(f.id)).toBe(false);
    }
    // B logged every request that succeeded after the kill (the log line follows the answer: bounded wait).
    const servedAfter = after.filter((s) => s.error === undefined && s.reply!.status === 200);
    for (let i = 0; i < 50 && !servedAfter.every((s) => servedBy(b).has(s.id)); i++) await new Promise((r) => setTimeout(r, 100));
    expect(servedAfter.filter((s) => !servedBy(b).has(s.id)).map((s) => s.id)).toEqual([]);
    // Failover writes that were answered 200 are on the first backend.
    const names = new Set((await sims[0]!.state()).dns.map((r) => r.name));
    const written = sent.filter((s) => s.reply?.status === 200 && s.i % 4 !== 3);
    expect(written.length).toBeGreaterThan(total / 2);
    for (const s of written) expect(names.has(`host${s.i}.example.test`)).toBe(true);
    // HAProxy noticed: its log names pp1 as DOWN once the health check failed twice.
    for (let i = 0; i < 50 && !/pp1 is DOWN/.test(haproxy.log()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(haproxy.log()).toMatch(/proxy-proxy-https\/pp1 is DOWN/);
    // Once HAProxy knows, nothing fails: every request goes to B.
    for (let i = 0; i < 24; i++) {
      const r = await foreman.post('/dns/', { fqdn: `later${i}.example.test`, value: `192.0.2.${i + 1}`, type: 'A' }, { 'x-request-id': `ha-later-${i}` });
      expect(r.status).toBe(200);
    }
  }, 90_000);
  it('an instance that comes back is used again; one that hangs is taken out and its connections closed', async () => {
    const [a, b] = instances as [DaemonProcess, DaemonProcess];
    const port = (url: string) => Number(new URL(url).port);
    const upAgain = countOf(haproxy.log(), 'proxy-proxy-https/pp1 is UP');
    // pp1 was killed above: it comes back on its addresses, and HAProxy's checks take it back.
    const again = await startDaemonProcess(dir, 'pp1-again', yaml('pp1', { http: port(a.urls.http!), https: port(a.urls.https!) }));
    instances.push(again);
    await until(() => countOf(haproxy.log(), 'proxy-proxy-https/pp1 is UP') > upAgain, 'pp1 back UP in HAProxy');

    // pp2 hangs: the process is stopped, its sockets accept and never answer.
    const sent: Sent[] = [];
    let downAt = Infinity;
    let afterDown = 0;
    const watch = setInterval(() => {
      if (downAt === Infinity && haproxy.log().includes('proxy-proxy-https/pp2 is DOWN')) downAt = performance.now();
    }, 20);
    b.child.kill('SIGSTOP');
    try {
      let i = 0;
      const worker = async () => {
        // Until 30 requests went out after HAProxy took pp2 out (bounded in count).
        while (afterDown < 30 && i < 600) {
          const n = i++;
          const s: Sent = { i: n, id: `hang-${n}`, start: performance.now(), end: 0 };
          if (s.start > downAt) afterDown++;
          sent.push(s);
          try {
            s.reply = await foreman.get('/v2/features', { 'x-request-id': s.id });
          } catch (err) {
            s.error = (err as { code?: string }).code ?? String(err);
          }
          s.end = performance.now();
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
    } finally {
      clearInterval(watch);
      b.child.kill('SIGCONT');
    }
    expect(downAt).toBeLessThan(Infinity);
    const failed = sent.filter((s) => s.error !== undefined || s.reply!.status !== 200);
    // Every request sent once pp2 was out succeeded; what failed had been sent to pp2 before and was
    // cut off (on-marked-down shutdown-sessions) rather than left hanging.
    expect(sent.filter((s) => s.start > downAt && (s.error !== undefined || s.reply!.status !== 200))).toEqual([]);
    for (const f of failed) expect(f.start).toBeLessThan(downAt);
    // Some did reach the hung instance (leastconn spreads requests evenly until the checks fail).
    expect(failed.length).toBeGreaterThan(0);
    expect(sent.filter((s) => s.start > downAt).length).toBeGreaterThanOrEqual(30);
    // Once it answers again, HAProxy takes it back.
    await until(() => haproxy.log().includes('proxy-proxy-https/pp2 is UP'), 'pp2 back UP in HAProxy');
  }, 90_000);
});
