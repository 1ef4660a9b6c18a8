// Twenty simulated hosts in one process against a real mosquitto and a fake job server: each
// gets its doorbell, fetches with its own certificate, runs the script and posts v1 updates the
// way foreman_ygg_worker batches them; cancel, 404 and malformed messages.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import { issueHostCerts } from '../support/host-pki.js';
import { startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { createPki } from '../support/pki.js';
import { cancelMessage, startFakeJobServer, startMessage, waitUntil, type CapturedUpdate, type FakeJobServer } from './fake-job-server.js';
import { startSimHostProcess, type SimHostProcess } from './sim-host-process.js';

const HOSTS = 20;
const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/;

type Update = Record<string, unknown>;

function allUpdates(posts: CapturedUpdate[]): Update[] {
  return posts.flatMap((p) => p.body.updates ?? []);
}

function streamChunks(updates: Update[], stream: string): string[] {
  return updates.filter((u) => u.type === 'output' && u.stream === stream).map((u) => u.content as string);
}

describe('simulated pull-mqtt hosts (mosquitto, 20 hosts in one process)', () => {
  let broker: Mosquitto;
  let server: FakeJobServer;
  let sim: SimHostProcess;
  let publisher: MqttClient;
  let names: string[];

  const publish = async (host: string, payload: string) => {
    await publisher.publishAsync(`yggdrasil/${host}/data/in`, payload, { qos: 1 });
  };
  const exitArrived = (uuid: string) => () => allUpdates(server.updatesFor(uuid)).some((u) => u.type === 'exit');

  beforeAll(async () => {
    const pki = await createPki();
    const [serverCert, hostNames] = await Promise.all([
      pki.issue('proxy.example.test', { server: true }),
      issueHostCerts(pki, { count: HOSTS, dir: join(pki.dir, 'hosts') }),
    ]);
    names = hostNames;
    broker = await startMosquitto();
    server = await startFakeJobServer({ ca: pki.caCert, ...serverCert });
    sim = await startSimHostProcess([
      '--broker', broker.url!,
      '--hosts', String(HOSTS),
      '--hosts-per-connection', '8',
      '--cert-dir', join(pki.dir, 'hosts'),
      '--ca', pki.caCert,
    ]);
    publisher = await connectAsync(broker.url!, { clientId: 'test-proxy', clean: true, reconnectPeriod: 0 });
  });

  afterAll(async () => {
    await publisher?.endAsync();
    if (sim) expect(await sim.stop()).toBe(0);
    await server?.close();
    await broker?.dispose();
  });

  it('subscribes every host, sharing three broker connections', () => {
    const ready = sim.events.find((e) => e.event === 'ready');
    expect(ready).toMatchObject({ hosts: HOSTS, connections: 3 });
    const subscribed = new Set(sim.events.filter((e) => e.event === 'subscribed').map((e) => e.host));
    expect([...subscribed].sort()).toEqual([...names].sort());
  });

  it('each host fetches its own job with its own certificate and posts one v1 batch ending in exit', async () => {
    const jobs = names.map((host, i) => {
      const letter = String.fromCharCode(97 + i);
      const script = `#!/bin/sh\necho "hello from ${host}" >&2\nhead -c 10000 /dev/zero | tr '\\0' '${letter}'\nexit ${i % 4}\n`;
      return { host, letter, code: i % 4, job: server.addJob(host, script, i === 6 ? { effectiveUser: 'deploy' } : {}) };
    });
    await Promise.all(jobs.map(({ host, job }) => publish(host, startMessage(server.url, job))));
    await waitUntil('20 exit updates', () => jobs.every(({ job }) => exitArrived(job.uuid)()));

    for (const { host, letter, code, job } of jobs) {
      const fetches = server.fetches.filter((f) => f.uuid === job.uuid);
      expect(fetches).toEqual([expect.objectContaining({ cn: host, status: 200 })]);

      const posts = server.updatesFor(job.uuid);
      // 3 stdout chunks + 1 stderr + exit stay under the 32-update threshold: one POST, on exit.
      expect(posts).toHaveLength(1);
      const post = posts[0]!;
      expect(post).toMatchObject({ cn: host, status: 200, contentType: 'application/json' });
      expect(Object.keys(post.body)).toEqual(['version', 'updates']);
      expect(post.body.version).toBe('1');
      const updates = allUpdates(posts);
      for (const u of updates) {
        expect(u.timestamp).toMatch(RFC3339_SECONDS);
        if (u.type === 'output') expect(Object.keys(u)).toEqual(['timestamp', 'type', 'content', 'stream']);
        else expect(Object.keys(u)).toEqual(['timestamp', 'type', 'exit_code']);
      }
      expect(updates.at(-1)).toMatchObject({ type: 'exit', exit_code: code });
      expect(updates.filter((u) => u.type === 'exit')).toHaveLength(1);
      const stdout = streamChunks(updates, 'stdout');
      expect(stdout.map((c) => c.length)).toEqual([4096, 4096, 1808]);
      expect(stdout.join('')).toBe(letter.repeat(10000));
      expect(streamChunks(updates, 'stderr').join('')).toBe(`hello from ${host}\n`);
    }
    const fetched = sim.events.find((e) => e.event === 'fetched' && e.job === jobs[6]!.job.uuid);
    expect(fetched).toMatchObject({ host: jobs[6]!.host, status: 200, effectiveUser: 'deploy' });
    for (const { job, code } of jobs) {
      expect(sim.events.find((e) => e.event === 'finished' && e.job === job.uuid)).toMatchObject({ exitCode: code });
    }
  });

  it('sends 32 updates per batch, then the rest with the exit', async () => {
    const host = names[0]!;
    // tr writes 8 KiB at a time: 160 KiB of output are exactly 40 chunks of 4096 bytes.
    const job = server.addJob(host, "head -c 163840 /dev/zero | tr '\\0' z\n");
    await publish(host, startMessage(server.url, job));
    await waitUntil('the exit update', exitArrived(job.uuid));
    const posts = server.updatesFor(job.uuid);
    expect(posts.map((p) => p.body.updates!.length)).toEqual([32, 9]);
    expect(posts[0]!.body.updates!.some((u) => u.type === 'exit')).toBe(false);
    const updates = allUpdates(posts);
    expect(streamChunks(updates, 'stdout').every((c) => c.length === 4096)).toBe(true);
    expect(updates.at(-1)).toMatchObject({ type: 'exit', exit_code: 0 });
  });

  it('a cancel message SIGTERMs the running script, which is reported with exit code -1', async () => {
    const host = names[1]!;
    // The marker tells the test the script is past its echo, so the output is in before the cancel.
    const marker = join(mkdtempSync(join(tmpdir(), 'sim-host-cancel-')), 'running');
    const job = server.addJob(host, `#!/bin/sh\necho started\ntouch '${marker}'\nwhile :; do sleep 0.1; done\n`);
    await publish(host, startMessage(server.url, job));
    const started = await sim.waitFor('the script to start', (e) => e.event === 'started' && e.job === job.uuid);
    const pid = started.pid as number;
    await waitUntil('the script to pass its echo', () => existsSync(marker));
    expect(server.updatesFor(job.uuid)).toHaveLength(0);

    await publish(host, cancelMessage(server.url, job.uuid));
    await sim.waitFor('the cancel', (e) => e.event === 'cancelled' && e.job === job.uuid);
    await waitUntil('the exit update', exitArrived(job.uuid));
    const updates = allUpdates(server.updatesFor(job.uuid));
    expect(streamChunks(updates, 'stdout').join('')).toBe('started\n');
    expect(updates.at(-1)).toMatchObject({ type: 'exit', exit_code: -1 });
    // yggd fetched the cancel URL with the host's certificate before handing the cancel over.
    expect(server.cancels).toContainEqual(expect.objectContaining({ uuid: job.uuid, cn: host, status: 200 }));
    expect(() => process.kill(pid, 0)).toThrow();
    expect(sim.events.find((e) => e.event === 'finished' && e.job === job.uuid)).toMatchObject({ exitCode: -1, signal: 'SIGTERM' });
  });

  it('a host whose fetch gets 404 runs nothing and reports nothing', async () => {
    const [h3, h4, h5] = [names[2]!, names[3]!, names[4]!];
    const unknown = { uuid: '00000000-0000-4000-8000-000000000404' };
    const othersJob = server.addJob(h5, 'echo not for h4\n');
    await publish(h3, startMessage(server.url, unknown));
    // h4 gets h5's job URL: the server sees h4's CN and answers 404.
    await publish(h4, startMessage(server.url, othersJob));
    await sim.waitForCount('two ignored fetches', (e) => e.event === 'ignored' && (e.job === unknown.uuid || e.job === othersJob.uuid), 2);
    expect(server.fetches).toContainEqual(expect.objectContaining({ uuid: othersJob.uuid, cn: h4, status: 404 }));

    // Later jobs on the same hosts finish: by then anything from the 404s would have been posted.
    const later = [server.addJob(h3, 'echo ok\n'), server.addJob(h4, 'echo ok\n')];
    await publish(h3, startMessage(server.url, later[0]!));
    await publish(h4, startMessage(server.url, later[1]!));
    await waitUntil('the later jobs', () => later.every((j) => exitArrived(j.uuid)()));
    expect(server.updatesFor(unknown.uuid)).toHaveLength(0);
    expect(server.updatesFor(othersJob.uuid)).toHaveLength(0);
    expect(sim.events.filter((e) => e.event === 'started' && (e.job === unknown.uuid || e.job === othersJob.uuid))).toHaveLength(0);
  });

  it('rejects a message yggd could not unmarshal', async () => {
    const host = names[5]!;
    const job = server.addJob(host, 'echo never\n');
    const bad = JSON.parse(startMessage(server.url, job)) as Record<string, unknown>;
    bad.version = '1';
    await publish(host, JSON.stringify(bad));
    const rejected = await sim.waitFor('the rejection', (e) => e.event === 'rejected' && e.host === host);
    expect(rejected.reason).toBe('version is not an integer');
    expect(server.fetches.filter((f) => f.uuid === job.uuid)).toHaveLength(0);
  });
});
