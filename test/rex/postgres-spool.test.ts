// The spool on PostgreSQL, end to end through the daemon: jobs run and their results reach
// Foreman; with the database stopped, launches are refused with 503 (nothing recorded) and
// hosts are answered 503 with Retry-After and an empty body; once the database is back the
// daemon reconnects by itself and runs what Foreman launches.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openPgSpool } from '../../src/state/postgresql/open-spool.js';
import { migratePostgres } from '../../src/state/postgresql/migrate.js';
import { client } from '../support/http-client.js';
import { startCluster, type TestCluster } from '../support/postgres.js';
import { batchLaunch, createWorld, postJson, startFakeForeman, startRexDaemon, TestHost, waitFor, type FakeForeman, type JobSpec, type RexDaemon, type World } from './rex-harness.js';

describe('REX spool on PostgreSQL', () => {
  let world: World;
  let foreman: FakeForeman;
  let cluster: TestCluster;
  let rex: RexDaemon | undefined;
  let host: TestHost | undefined;

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    cluster = await startCluster();
    const setup = new pg.Pool({ connectionString: cluster.url, max: 1 });
    await migratePostgres(setup, 'test spool');
    await setup.end();
  }, 60_000);

  afterAll(async () => {
    await host?.close();
    await rex?.stop();
    await foreman?.close();
    cluster?.destroy();
  });

  it('runs jobs, refuses launches while the database is down, and carries on once it is back', async () => {
    rex = await startRexDaemon(world, foreman, { spool: openPgSpool({ url: cluster.url, instanceId: 'a', poolSize: 4 }) });
    host = new TestHost('pg.example.test', await world.host('pg.example.test'));
    await host.connect(rex.mqttUrl);
    const launch = (jobs: JobSpec[]) => postJson(rex!.foreman, '/dynflow/tasks/launch', batchLaunch(jobs, rex!.url));
    const done = (jobs: JobSpec[]) => waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'results at Foreman', 20_000);

    const before: JobSpec[] = [0, 1].map(() => ({ taskId: randomUUID(), host: host!.cn, script: 'echo ok' }));
    expect((await launch(before)).status).toBe(200);
    await done(before);
    for (const j of before) expect(foreman.results.get(`ft-${j.taskId}`)).toMatchObject({ exit_status: 0, result: [{ output_type: 'stdout', output: 'ok\n' }] });

    cluster.stop('immediate');
    const refused = await launch([{ taskId: randomUUID(), host: host.cn, script: 'echo lost' }]);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    expect(refused.json.error).toMatch(/^state database unavailable: /);
    const hostClient = client(rex.url, await world.host(host.cn));
    try {
      // Held for a while in case the database comes straight back, then refused: empty body.
      const polled = await hostClient.get('/ssh/jobs');
      expect([polled.status, polled.body, polled.headers['retry-after']]).toEqual([503, '', '5']);
    } finally {
      await hostClient.close();
    }

    cluster.start();
    const after: JobSpec[] = [0, 1, 2].map(() => ({ taskId: randomUUID(), host: host!.cn, script: 'echo back' }));
    // The first calls may still meet connections the restart cut; a refused launch recorded nothing.
    await waitFor(async () => (await launch(after)).status === 200, 'a launch accepted again', 20_000);
    await done(after);
    for (const j of after) expect(foreman.results.get(`ft-${j.taskId}`)).toMatchObject({ exit_status: 0 });
    expect(foreman.results.size).toBe(5);
  }, 90_000);
});
