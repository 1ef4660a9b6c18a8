// --concurrency queues fetched jobs; a cancel for a queued job reports it killed without running
// it; --data-host rewrites the proxy's URLs; SIGTERM takes running scripts down and exits 0.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { issueHostCerts } from '../support/host-pki.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { createPki } from '../support/pki.js';
import { cancelMessage, startFakeJobServer, startMessage, waitUntil, type FakeJobServer } from './fake-job-server.js';
import { startSimHostProcess, type SimHostProcess } from './sim-host-process.js';

/** Processes of a process group that are not zombies (their reaping is up to whoever inherits them). */
function liveInGroup(pgid: number): number[] {
  const live: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') live.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return live;
}

// The name Foreman would have registered; --data-host sends everything to the fake server.
const PROXY_URL = 'https://proxy.example.test:9090';

describe('simulated host: run queue, data-host and shutdown', () => {
  let broker: Mosquitto;
  let server: FakeJobServer;
  let sim: SimHostProcess;
  let publisher: MqttClient;
  let host: string;

  const publish = (payload: string) => publisher.publishAsync(`yggdrasil/${host}/data/in`, payload, { qos: 1 });
  const updates = (uuid: string) => server.updatesFor(uuid).flatMap((p) => p.body.updates ?? []);

  beforeAll(async () => {
    const pki = await createPki();
    const [serverCert, names] = await Promise.all([
      pki.issue('proxy.example.test', { server: true }),
      issueHostCerts(pki, { count: 1, first: 7, prefix: 'web', domain: 'example.org', dir: join(pki.dir, 'hosts') }),
    ]);
    host = names[0]!;
    broker = await startMosquitto();
    server = await startFakeJobServer({ ca: pki.caCert, ...serverCert });
    sim = await startSimHostProcess([
      '--broker', broker.url!,
      '--first-index', '7',
      '--name-prefix', 'web',
      '--domain', 'example.org',
      '--concurrency', '1',
      '--data-host', new URL(server.url).host,
      '--cert-dir', join(pki.dir, 'hosts'),
      '--ca', pki.caCert,
    ]);
    publisher = await connectAsync(broker.url!, { clean: true, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    await sim?.stop();
    await server?.close();
    await broker?.dispose();
  });

  it('runs one script at a time and drops a queued job on cancel, reporting exit -1', async () => {
    expect(host).toBe('web7.example.org');
    // The first job holds the only slot until the test opens the gate.
    const gate = join(mkdtempSync(join(tmpdir(), 'sim-host-gate-')), 'open');
    const first = server.addJob(host, `while [ ! -e '${gate}' ]; do sleep 0.05; done\necho first\n`);
    const queued = server.addJob(host, 'echo must not run\n');
    const third = server.addJob(host, 'echo third\n');
    await publish(startMessage(PROXY_URL, first));
    await sim.waitFor('the first job to start', (e) => e.event === 'started' && e.job === first.uuid);
    await publish(startMessage(PROXY_URL, queued));
    await publish(startMessage(PROXY_URL, third));
    await sim.waitForCount('both to be fetched', (e) => e.event === 'fetched' && (e.job === queued.uuid || e.job === third.uuid), 2);
    await publish(cancelMessage(PROXY_URL, queued.uuid));
    await sim.waitFor('the queued job to be dropped', (e) => e.event === 'cancelled' && e.job === queued.uuid && e.queued === true);
    writeFileSync(gate, '');

    await waitUntil('all three exits', () => [first, queued, third].every((j) => updates(j.uuid).some((u) => u.type === 'exit')));
    expect(updates(queued.uuid)).toEqual([expect.objectContaining({ type: 'exit', exit_code: -1 })]);
    expect(updates(third.uuid).map((u) => u.content ?? u.exit_code)).toEqual(['third\n', 0]);
    const started = sim.events.filter((e) => e.event === 'started').map((e) => e.job);
    expect(started).toEqual([first.uuid, third.uuid]);
    // data-host: the fake server got every request although the messages named another host.
    expect(server.fetches.filter((f) => f.cn === host)).toHaveLength(3);
  });

  it('exits 0 on SIGTERM and takes a running script with its children down', async () => {
    const long = server.addJob(host, 'sleep 30 &\nsleep 30\n');
    await publish(startMessage(PROXY_URL, long));
    const started = await sim.waitFor('the long job', (e) => e.event === 'started' && e.job === long.uuid);
    // The script's shell and both sleeps, in the group of their own the worker gave them.
    await waitUntil('both sleeps to run', () => liveInGroup(started.pid as number).length === 3, 5000);
    expect(await sim.stop()).toBe(0);
    await waitUntil('the script group to be gone', () => liveInGroup(started.pid as number).length === 0, 5000);
    expect(updates(long.uuid)).toHaveLength(0);
  });
});
