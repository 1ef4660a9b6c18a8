// Mosquitto restarted mid-run: a script already running still posts its exit over HTTPS, the
// hosts reconnect and resubscribe (clean session), and later doorbells reach them.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { issueHostCerts } from '../support/host-pki.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { createPki } from '../support/pki.js';
import { startFakeJobServer, startMessage, waitUntil, type FakeJobServer } from './fake-job-server.js';
import { startSimHostProcess, type HostEvent, type SimHostProcess } from './sim-host-process.js';

describe('simulated hosts across a broker restart', () => {
  let broker: Mosquitto;
  let server: FakeJobServer;
  let sim: SimHostProcess;
  let names: string[];

  const publishOnce = async (host: string, payload: string) => {
    // A fresh connection per publish, as REX's publisher does.
    const client = await connectAsync(broker.url!, { clean: true, reconnectPeriod: 0, connectTimeout: 5000 });
    try {
      await client.publishAsync(`yggdrasil/${host}/data/in`, payload, { qos: 1 });
    } finally {
      await client.endAsync();
    }
  };
  const hasExit = (uuid: string) => server.updatesFor(uuid).some((p) => (p.body.updates ?? []).some((u) => u.type === 'exit'));

  beforeAll(async () => {
    const pki = await createPki();
    const [serverCert, hostNames] = await Promise.all([
      pki.issue('proxy.example.test', { server: true }),
      issueHostCerts(pki, { count: 4, dir: join(pki.dir, 'hosts') }),
    ]);
    names = hostNames;
    broker = await startMosquitto();
    server = await startFakeJobServer({ ca: pki.caCert, ...serverCert });
    sim = await startSimHostProcess([
      '--broker', broker.url!,
      '--hosts', '4',
      '--hosts-per-connection', '2',
      '--reconnect-ms', '200',
      '--cert-dir', join(pki.dir, 'hosts'),
      '--ca', pki.caCert,
    ]);
  });

  afterAll(async () => {
    if (sim) expect(await sim.stop()).toBe(0);
    await server?.close();
    await broker?.dispose();
  });

  it('reconnects, resubscribes every host and still gets later doorbells', async () => {
    const port = broker.port;
    const long = server.addJob(names[0]!, 'sleep 1\necho survived\n');
    await publishOnce(names[0]!, startMessage(server.url, long));
    await sim.waitFor('the long job to start', (e) => e.event === 'started' && e.job === long.uuid);

    const before = sim.events.length;
    await broker.restart();
    expect(broker.port).toBe(port);
    const since = (e: HostEvent) => sim.events.indexOf(e) >= before;
    await sim.waitForCount('both links to drop', (e) => e.event === 'disconnected' && since(e), 2);
    await sim.waitForCount('all four hosts to resubscribe', (e) => e.event === 'subscribed' && since(e), 4);

    const later = names.map((host) => server.addJob(host, `echo later on ${host}\n`));
    for (const [i, job] of later.entries()) await publishOnce(names[i]!, startMessage(server.url, job));
    await waitUntil('the later jobs and the long one', () => [long, ...later].every((j) => hasExit(j.uuid)));

    const out = (uuid: string) =>
      server
        .updatesFor(uuid)
        .flatMap((p) => p.body.updates ?? [])
        .filter((u) => u.type === 'output')
        .map((u) => u.content)
        .join('');
    expect(out(long.uuid)).toBe('survived\n');
    for (const [i, job] of later.entries()) expect(out(job.uuid)).toBe(`later on ${names[i]}\n`);
    // One ready event only: resubscribing is not a second start.
    expect(sim.events.filter((e) => e.event === 'ready')).toHaveLength(1);
  });
});
