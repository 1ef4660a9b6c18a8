// The spool publishing through a real Mosquitto set up as the installer does it (TLS, client
// certificates, identity as username, foreman.acl), and riding out a broker outage: jobs
// launched while the broker is down are rung once it is back, none is lost.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { foremanAcl, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import {
  batchLaunch,
  createWorld,
  postJson,
  PROXY_CN,
  startFakeForeman,
  startRexDaemon,
  TestHost,
  waitFor,
  type FakeForeman,
  type JobSpec,
  type RexDaemon,
  type World,
} from './rex-harness.js';

describe('an external Mosquitto broker', () => {
  let world: World;
  let foreman: FakeForeman;
  let broker: Mosquitto;
  let rex: RexDaemon;
  let host: TestHost;

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    broker = await startMosquitto({
      plain: false,
      tls: { caFile: world.pki.caCert, certFile: world.proxy.cert, keyFile: world.proxy.key, acl: foremanAcl(PROXY_CN) },
    });
    rex = await startRexDaemon(world, foreman, { rex: { mqtt: { broker: broker.tlsUrl, ttl: 1, resend_interval: 2 } } });
    host = new TestHost('ext.example.test', await world.host('ext.example.test'));
    await host.connect(broker.tlsUrl!);
    await waitFor(() => rex.daemon.rex!.mqttConnected, 'proxy-proxy connected to the broker');
  });

  afterAll(async () => {
    await host?.close();
    await rex?.stop();
    await broker?.dispose();
    await foreman?.close();
  });

  const run = async (job: JobSpec) => {
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch([job], rex.url));
    expect(reply.status).toBe(200);
  };

  it('publishes doorbells as the proxy CN, which the installer ACL allows', async () => {
    const job: JobSpec = { taskId: randomUUID(), host: host.cn, script: 'echo via mosquitto' };
    await run(job);
    const data = await waitFor(() => foreman.results.get(`ft-${job.taskId}`), 'the result');
    expect(data).toMatchObject({ exit_status: 0, result: [{ output: 'via mosquitto\n' }] });
    expect(host.doorbells[0]!.metadata.event).toBe('start');
  });

  it('keeps jobs launched while the broker is down and rings them when it is back', async () => {
    await broker.stop();
    await waitFor(() => !rex.daemon.rex!.mqttConnected, 'the link to notice the outage');
    const jobs: JobSpec[] = [0, 1, 2].map((k) => ({ taskId: randomUUID(), host: host.cn, script: `echo during outage ${k}` }));
    await run(jobs[0]!);
    await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(jobs.slice(1), rex.url));
    await new Promise((r) => setTimeout(r, 500));
    const status = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: jobs.map((j) => j.taskId) });
    expect(Object.values(status.json)).toEqual(jobs.map(() => ({ state: 'running', result: 'pending' })));
    await broker.restart();
    await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'every result after the outage', 30_000);
    for (const [k, j] of jobs.entries()) expect(foreman.results.get(`ft-${j.taskId}`)!.result[0]!.output).toBe(`during outage ${k}\n`);
  }, 45_000);
});
