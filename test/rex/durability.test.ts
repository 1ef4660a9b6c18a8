// Nothing is lost when Foreman refuses results for a while, or when proxy-proxy is restarted in
// the middle of a run: doorbells, deadlines and callbacks owed resume from the state file.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import {
  batchLaunch,
  createWorld,
  postJson,
  startFakeForeman,
  startRexDaemon,
  tempStateDir,
  TestHost,
  waitFor,
  type FakeForeman,
  type JobSpec,
  type World,
} from './rex-harness.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('durability of results', () => {
  let world: World;
  let foreman: FakeForeman;
  const hosts: TestHost[] = [];

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
  });

  afterAll(async () => {
    for (const h of hosts) await h.close();
    await foreman?.close();
  });

  it('retries callbacks Foreman refuses until it answers 200', async () => {
    const rex = await startRexDaemon(world, foreman);
    try {
      const h = new TestHost('retry.example.test', await world.host('retry.example.test'));
      hosts.push(h);
      await h.connect(rex.mqttUrl);
      foreman.fail(4, 503);
      const jobs: JobSpec[] = [0, 1].map(() => ({ taskId: randomUUID(), host: h.cn, script: 'echo ok' }));
      expect((await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(jobs, rex.url))).status).toBe(200);
      await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'both results at Foreman');
      const mine = foreman.posts.filter((p) => p.body.callbacks?.some((c) => jobs.some((j) => c.callback.task_id === `ft-${j.taskId}`)));
      expect(mine.filter((p) => p.status === 503).length).toBeGreaterThanOrEqual(1);
      expect(mine.at(-1)!.status).toBe(200);
      for (const j of jobs) {
        expect(foreman.results.get(`ft-${j.taskId}`)).toMatchObject({ exit_status: 0, result: [{ output_type: 'stdout', output: 'ok\n' }] });
        // The spool records Foreman's 200 once the answer is back and committed: a moment after Foreman has it.
        const stored = await waitFor(async () => {
          const t = await rex.daemon.rex!.store.task(j.taskId);
          return t?.callbackState === 'done' ? t : undefined;
        }, `callback of ${j.taskId} recorded as delivered`);
        expect(stored.callbackAttempts).toBeGreaterThanOrEqual(1); // each failed POST counts
      }
    } finally {
      foreman.fail(0);
      await rex.stop();
    }
  });

  it('loses no job and no result across a restart in the middle of a run', async () => {
    const stateDir = tempStateDir();
    const httpsPort = await freePort();
    const mqttPort = await freePort();
    const options = { stateDir, httpsPort, mqttPort };
    let rex = await startRexDaemon(world, foreman, options);
    const names = ['r1.example.test', 'r2.example.test', 'r3.example.test', 'r4.example.test'];
    const running: TestHost[] = [];
    for (const name of names) {
      const h = new TestHost(name, await world.host(name));
      hosts.push(h);
      await h.connect(rex.mqttUrl);
      running.push(h);
    }
    // A host that comes online only after the restart: its doorbell must still ring then.
    const late = new TestHost('late.example.test', await world.host('late.example.test'));
    hosts.push(late);
    const jobs: JobSpec[] = [
      ...names.flatMap((host) => [0, 1, 2].map((k) => ({ taskId: randomUUID(), host, script: `echo first ${k}\ngate\nsleep ${k * 100}\necho second ${k}\nexit ${k}` }))),
      { taskId: randomUUID(), host: late.cn, script: 'echo late\nexit 7' },
    ];
    // Foreman refuses results before the restart, so they are still owed when it happens.
    foreman.fail(1_000_000, 502);
    expect((await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(jobs, rex.url))).status).toBe(200);
    await waitFor(() => running.every((h) => h.fetches.filter((f) => f.status === 200).length === 3), 'every running host to fetch its three jobs');
    // Hosts never retry a POST: they hold their next one (the exit) until proxy-proxy is back.
    await waitFor(() => running.every((h) => h.updates.filter((u) => u.status === 200).length === 3), 'first output of every job');
    await rex.stop();

    foreman.fail(0);
    rex = await startRexDaemon(world, foreman, options);
    for (const h of running) h.openGate();
    try {
      await late.connect(rex.mqttUrl);
      await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'every result at Foreman', 20_000);
      for (const j of jobs) {
        const data = foreman.results.get(`ft-${j.taskId}`)!;
        if (j.host === late.cn) {
          expect(data).toMatchObject({ exit_status: 7, result: [{ output: 'late\n' }] });
          continue;
        }
        const k = Number(/echo first (\d)/.exec(j.script)![1]);
        expect(data.exit_status).toBe(k);
        expect(new Set(data.result.map((r) => r.output))).toEqual(new Set([`first ${k}\n`, `second ${k}\n`]));
      }
      // Every job ran once: no host fetched any job twice; no POST went unanswered.
      for (const h of running) expect(h.updates.filter((u) => u.status !== 200)).toEqual([]);
      for (const h of [...running, late]) expect(h.fetches.filter((f) => f.status === 200).length).toBe(h === late ? 1 : 3);
    } finally {
      await rex.stop();
    }
  });
});
