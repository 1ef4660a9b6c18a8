// Two proxy-proxy processes on one PostgreSQL database behind HAProxy (TCP mode, the documented
// haproxy.cfg): Foreman's replicated and failover writes over HTTPS with a client certificate;
// one instance is SIGKILLed mid-run. Only requests in flight on it fail; every later one
// succeeds; every write answered 200 is on both backends; the survivor sees the dead instance's
// lease run out.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPki } from '../support/pki.js';
import { freshDatabase } from '../support/postgres.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';
import { startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { startDocumentedHaproxy, type Haproxy } from '../support/haproxy.js';
import { client, type Client, type Reply } from '../support/http-client.js';
import { runCli } from '../converge/cli-process.js';

const CLUSTER = 'proxy.example.com';
const FOREMAN = 'foreman.example.test';
const mac = (i: number) => `52:54:00:aa:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
const tftpFile = (i: number) => `pxelinux.cfg/01-${mac(i).replace(/:/g, '-')}`;

interface Sent {
  i: number;
  id: string;
  start: number;
  reply?: Reply;
  error?: string;
}

async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('two instances on one PostgreSQL database behind HAProxy', () => {
  let sims: SimProcess[];
  let instances: DaemonProcess[];
  let haproxy: Haproxy;
  let foreman: Client;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pp-ha-pg-'));
    const db = await freshDatabase();
    const pki = await createPki(join(dir, 'pki'));
    const server = await pki.issue(CLUSTER, { altNames: [CLUSTER] });
    const foremanCert = await pki.issue(FOREMAN);
    sims = await Promise.all([startSimProcess({ name: 'sim-a' }), startSimProcess({ name: 'sim-b' })]);
    const yaml = (name: string) => `bind_host: 127.0.0.1
http_port: 0
https_port: 0
ssl_certificate: ${server.cert}
ssl_private_key: ${server.key}
ssl_ca_file: ${pki.caCert}
trusted_hosts: [${FOREMAN}]
state_dir: ${join(dir, name)}
state:
  driver: postgresql
  url: ${db}
shutdown_timeout_ms: 2000
backends:
${sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('')}features:
  tftp: { policy: replicate, on_backend_down: refuse }
  dns: {}
  logs: {}
`;
    instances = [];
    for (const n of ['pp1', 'pp2']) instances.push(await startDaemonProcess(dir, n, yaml(n)));
    const [a, b] = instances as [DaemonProcess, DaemonProcess];
    haproxy = await startDocumentedHaproxy(pki.caCert, [a.urls, b.urls]);
    foreman = client(
      `https://127.0.0.1:${haproxy.ports[0]}`,
      { ca: readFileSync(pki.caCert), cert: readFileSync(foremanCert.cert), key: readFileSync(foremanCert.key), servername: CLUSTER },
      { keepAlive: false },
    );
  }, 90_000);

  afterAll(async () => {
    await foreman?.close();
    await haproxy?.dispose();
    await Promise.all((instances ?? []).map((i) => i.stop()));
    await Promise.all((sims ?? []).map((s) => s.stop()));
  });

  it('status on either instance lists both', async () => {
    const [a, b] = instances as [DaemonProcess, DaemonProcess];
    const cli = await runCli(['status', '--url', a.urls.http!, '--json']);
    expect(cli.code).toBe(0);
    const doc = JSON.parse(cli.stdout) as { cluster: { instances: { runtimeUrl: string; live: boolean }[] } };
    expect(doc.cluster.instances.map((i) => [i.runtimeUrl, i.live]).sort()).toEqual([
      [a.urls.http, true],
      [b.urls.http, true],
    ].sort());
  });

  it('kill -9 of one instance during replicated writes: only its in-flight requests fail; every write answered 200 is on both backends', async () => {
    const [a, b] = instances as [DaemonProcess, DaemonProcess];
    await Promise.all(sims.map((s) => s.faults({ delay_ms: 50 })));
    const total = 180;
    const workers = 6;
    const sent: Sent[] = [];
    let next = 0;
    let deadAt = Infinity;
    let killing: Promise<void> | undefined;
    const worker = async () => {
      for (let i = next++; i < total; i = next++) {
        if (i === total / 3) killing = a.kill().then(() => void (deadAt = performance.now()));
        const s: Sent = { i, id: `pg-${i}`, start: performance.now() };
        sent.push(s);
        try {
          s.reply =
            i % 3 === 2
              ? await foreman.post('/dns/', { fqdn: `pg${i}.example.test`, value: `192.0.2.${i % 250}`, type: 'A' }, { 'x-request-id': s.id })
              : await foreman.post(`/tftp/PXELinux/${mac(i)}`, { pxeconfig: `default linux\n# ${i}\n` }, { 'x-request-id': s.id });
        } catch (err) {
          s.error = (err as { code?: string }).code ?? String(err);
        }
      }
    };
    await Promise.all(Array.from({ length: workers }, worker));
    await killing;
    await Promise.all(sims.map((s) => s.faults({ delay_ms: 0 })));

    const bad = (s: Sent) => s.error !== undefined || s.reply!.status !== 200;
    expect(deadAt).toBeLessThan(Infinity);
    // What failed was on A when it died: in flight, or a connection HAProxy had just handed to A
    // and cut when it marked A down. At most one per worker; once HAProxy knows, nothing fails (below).
    const failed = sent.filter(bad);
    expect(failed.length).toBeLessThanOrEqual(workers);

    const [stA, stB] = await Promise.all(sims.map((s) => s.state()));
    for (const s of sent.filter((x) => x.i % 3 !== 2 && !bad(x))) {
      expect([stA!.tftp[tftpFile(s.i)], stB!.tftp[tftpFile(s.i)]]).toEqual([`default linux\n# ${s.i}\n`, `default linux\n# ${s.i}\n`]);
    }
    // The survivor sees the dead instance's lease run out.
    await until(async () => {
      const cli = await runCli(['status', '--url', b.urls.http!, '--json']);
      const doc = JSON.parse(cli.stdout) as { cluster: { instances: { runtimeUrl: string; live: boolean }[] } };
      return doc.cluster.instances.some((i) => i.runtimeUrl === a.urls.http && !i.live);
    }, 'the killed instance to show as expired');
    // By now HAProxy has long marked A down (checks every second): every write goes to B and succeeds.
    for (let i = 0; i < 12; i++) {
      const r = await foreman.post(`/tftp/PXELinux/${mac(total + i)}`, { pxeconfig: `default linux\n# ${total + i}\n` }, { 'x-request-id': `pg-later-${i}` });
      expect(r.status).toBe(200);
    }
  }, 120_000);
});
