// Two daemons on the postgresql state driver, one database and one Mosquitto: jobs launched
// through A are fetched and reported through B (the URL Foreman gives is B's), each runs once,
// and every result reaches Foreman exactly once, whichever instance sends it.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { foremanAcl, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { freshDatabase } from '../support/postgres.js';
import { batchLaunch, createWorld, postJson, PROXY_CN, startFakeForeman, startRexDaemon, TestHost, waitFor, type FakeForeman, type JobSpec, type RexDaemon, type World } from './rex-harness.js';

const JOBS = 40;

describe('two instances on one PostgreSQL spool', () => {
  let world: World;
  let foreman: FakeForeman;
  let broker: Mosquitto;
  let a: RexDaemon;
  let b: RexDaemon;
  const hosts: TestHost[] = [];

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    broker = await startMosquitto({
      plain: false,
      tls: { caFile: world.pki.caCert, certFile: world.proxy.cert, keyFile: world.proxy.key, acl: foremanAcl(PROXY_CN) },
    });
    const url = await freshDatabase();
    const opts = { top: { state: { driver: 'postgresql', url, pool_size: 6 } }, rex: { mqtt: { broker: broker.tlsUrl, ttl: 1, resend_interval: 2 } } };
    a = await startRexDaemon(world, foreman, opts);
    b = await startRexDaemon(world, foreman, opts);
    for (let i = 0; i < 4; i++) {
      const h = new TestHost(`two-${i}.example.test`, await world.host(`two-${i}.example.test`));
      await h.connect(broker.tlsUrl!);
      hosts.push(h);
    }
    await waitFor(() => a.daemon.rex!.mqttConnected && b.daemon.rex!.mqttConnected, 'both instances on the broker');
  }, 90_000);

  afterAll(async () => {
    for (const h of hosts) await h.close();
    await a?.stop();
    await b?.stop();
    await broker?.dispose();
    await foreman?.close();
  });

  it('runs jobs launched through A via B, each once, each result at Foreman once', async () => {
    const jobs: JobSpec[] = Array.from({ length: JOBS }, (_, i) => ({ taskId: randomUUID(), host: hosts[i % hosts.length]!.cn, script: `echo job ${i}` }));
    expect((await postJson(a.foreman, '/dynflow/tasks/launch', batchLaunch(jobs, b.url))).status).toBe(200);
    await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'every result at Foreman', 60_000);
    for (const [i, j] of jobs.entries()) expect(foreman.results.get(`ft-${j.taskId}`)).toMatchObject({ exit_status: 0, result: [{ output: `job ${i}\n` }] });
    // Every fetch went to B (the URL Foreman gave), and each job was fetched once.
    const fetched = hosts.flatMap((h) => h.fetches.filter((f) => f.status === 200));
    expect(fetched).toHaveLength(JOBS);
    expect(fetched.every((f) => f.url.startsWith(b.url))).toBe(true);
    // Results accepted by Foreman: one per job, though both instances send callbacks.
    const accepted = foreman.posts.filter((p) => p.status === 200).flatMap((p) => p.body.callbacks ?? []);
    const mine = accepted.filter((c) => jobs.some((j) => c.callback.task_id === `ft-${j.taskId}`));
    expect(mine).toHaveLength(JOBS);
    // Status through either instance.
    const status = await postJson(b.foreman, '/dynflow/tasks/status', { task_ids: [jobs[0]!.taskId] });
    expect(status.json[jobs[0]!.taskId]).toEqual({ state: 'stopped', result: 'success' });
  }, 90_000);
});
