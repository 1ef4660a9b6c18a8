// Jobs that end without a normal exit (docs/protocol/rex-pull.md §2.5, §2.6): not picked up in
// time, past their execution timeout (with a host that stops and one that does not), cancelled by Foreman
// before and after the host fetched them.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import {
  batchLaunch,
  createWorld,
  getJson,
  postJson,
  startFakeForeman,
  startRexDaemon,
  TestHost,
  waitFor,
  type FakeForeman,
  type JobSpec,
  type RexDaemon,
  type World,
} from './rex-harness.js';

describe('timeouts and cancel', () => {
  let world: World;
  let foreman: FakeForeman;
  let rex: RexDaemon;
  const hosts: TestHost[] = [];

  async function host(name: string): Promise<TestHost> {
    const h = new TestHost(name, await world.host(name));
    await h.connect(rex.mqttUrl);
    hosts.push(h);
    return h;
  }

  async function launch(job: JobSpec): Promise<void> {
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch([job], rex.url));
    expect(reply.status).toBe(200);
  }

  const result = (job: JobSpec) => waitFor(() => foreman.results.get(`ft-${job.taskId}`), `the result of ${job.host}`);
  const lines = (data: { result: { output_type: string; output: string }[] }) => data.result.map((r) => [r.output_type, r.output]);

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    rex = await startRexDaemon(world, foreman, { rex: { cancel_grace: 2 } });
  });

  afterAll(async () => {
    for (const h of hosts) await h.close();
    await rex?.stop();
    await foreman?.close();
  });

  it('ends a job nobody fetched within time_to_pickup with EXCEPTION', async () => {
    const job: JobSpec = { taskId: randomUUID(), host: 'offline.example.test', script: 'echo never', timeToPickup: 1 };
    await launch(job);
    const data = await result(job);
    expect(data.exit_status).toBe('EXCEPTION');
    expect(lines(data)).toEqual([['debug', 'The job was not picked up in time']]);
    const status = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: [job.taskId] });
    expect(status.json[job.taskId]).toEqual({ state: 'stopped', result: 'success' });
  });

  it('past the execution timeout, asks the host to stop over MQTT and takes the exit it reports', async () => {
    const h = await host('slow.example.test');
    const job: JobSpec = { taskId: randomUUID(), host: h.cn, script: 'echo started\nsleep 20000\necho never', executionTimeout: 1 };
    await launch(job);
    const data = await result(job);
    const cancel = h.doorbells.find((b) => b.metadata.event === 'cancel')!;
    expect(cancel).toMatchObject({ type: 'data', version: 1, directive: 'foreman', metadata: { event: 'cancel', job_uuid: h.doorbells[0]!.metadata.job_uuid } });
    expect(cancel.content).toBe(`${rex.url}/ssh/jobs/${cancel.metadata.job_uuid}/cancel`);
    expect(data.exit_status).toBe(143);
    expect(lines(data)).toEqual([
      ['stdout', 'started\n'],
      ['debug', 'Execution timeout exceeded, notifying the host over MQTT'],
      ['stderr', 'Terminated\n'],
    ]);
  });

  it('ends the job with EXCEPTION when the host does not report its exit within cancel_grace', async () => {
    const h = await host('stubborn.example.test');
    h.cancelMode = 'ignore';
    const job: JobSpec = { taskId: randomUUID(), host: h.cn, script: 'sleep 20000', executionTimeout: 1 };
    await launch(job);
    await waitFor(() => h.doorbells.some((b) => b.metadata.event === 'cancel'), 'the cancel message');
    // While the job is still open the cancel content URL answers (yggd fetches it).
    const cancelUrl = h.doorbells.find((b) => b.metadata.event === 'cancel')!.content;
    const open = await h.get(cancelUrl);
    expect([open.statusCode, await open.body.text()]).toEqual([200, '']);
    const data = await result(job);
    expect(data.exit_status).toBe('EXCEPTION');
    expect(lines(data).at(-1)).toEqual(['debug', 'The host did not report the end of the job within 2 s of being asked to stop it']);
    const closed = await h.get(cancelUrl);
    expect([closed.statusCode, await closed.body.text()]).toEqual([404, '']);
  });

  it('cancels a job before pickup: it ends at once and can no longer be fetched', async () => {
    const h = await host('idle.example.test');
    h.autoRun = false;
    const job: JobSpec = { taskId: randomUUID(), host: h.cn, script: 'echo never' };
    await launch(job);
    const bell = await waitFor(() => h.doorbells[0], 'the doorbell');
    // Pure pull: the host's queue lists the job; a HEAD of it does not count as the fetch.
    const queue = await h.get(`${rex.url}/ssh/jobs`);
    expect(JSON.parse(await queue.body.text())).toEqual([bell.metadata.job_uuid]);
    expect(await h.head(bell.content)).toBe(200);
    expect((await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: [job.taskId] })).json[job.taskId]).toEqual({ state: 'running', result: 'pending' });
    const reply = await postJson(rex.foreman, `/dynflow/tasks/${job.taskId}/cancel`, {});
    expect(reply.json).toEqual({ task_id: job.taskId, canceled_steps_count: 1 });
    const data = await result(job);
    expect(data.exit_status).toBe('EXCEPTION');
    expect(lines(data)).toEqual([['debug', 'The job was cancelled by the user']]);
    await h.handle(bell);
    expect(h.fetches.map((f) => [f.status, f.body])).toEqual([[404, '']]);
    // A finished task has nothing left to cancel; an unknown one is not found.
    expect((await postJson(rex.foreman, `/dynflow/tasks/${job.taskId}/cancel`, {})).json).toEqual({ task_id: job.taskId, canceled_steps_count: 0 });
    expect((await postJson(rex.foreman, `/dynflow/tasks/${randomUUID()}/cancel`, {})).status).toBe(404);
  });

  it('cancels a running job over MQTT and reports the exit the host sends', async () => {
    const h = await host('busy.example.test');
    const job: JobSpec = { taskId: randomUUID(), host: h.cn, script: 'echo working\nsleep 20000' };
    await launch(job);
    await waitFor(async () => {
      const s = await getJson(rex.foreman, `/dynflow/tasks/${job.taskId}/status`);
      const output = (s.json.actions as { input: { task_id?: string }; output: { state?: string; result?: unknown[] } }[])[1]!.output;
      return output.state === 'running' && output.result!.length === 1;
    }, 'live output of the running job');
    const reply = await postJson(rex.foreman, `/dynflow/tasks/${job.taskId}/cancel`, {});
    expect(reply.json).toEqual({ task_id: job.taskId, canceled_steps_count: 1 });
    const data = await result(job);
    expect(data.exit_status).toBe(143);
    expect(lines(data)).toEqual([
      ['stdout', 'working\n'],
      ['debug', 'The job was cancelled by the user, notifying the host over MQTT'],
      ['stderr', 'Terminated\n'],
    ]);
  });
});
