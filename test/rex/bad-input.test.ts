// Bad input is refused with a clear 4xx and a JSON {"error"} body on /dynflow (and on host
// updates), and nothing of a refused request is stored. Callers are authorized as by the smart
// proxy: trusted_hosts by client-certificate CN for Foreman's routes, the CN alone for hosts.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { client } from '../support/http-client.js';
import {
  actionInput,
  batchLaunch,
  createWorld,
  getJson,
  postJson,
  RUN_SCRIPT,
  startFakeForeman,
  startRexDaemon,
  TestHost,
  waitFor,
  type FakeForeman,
  type JobSpec,
  type RexDaemon,
  type World,
} from './rex-harness.js';

describe('bad input and authorization', () => {
  let world: World;
  let foreman: FakeForeman;
  let rex: RexDaemon;
  const hosts: TestHost[] = [];

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    rex = await startRexDaemon(world, foreman, { rex: { max_script_bytes: 1000, max_launch_bytes: 200_000 } });
  });

  afterAll(async () => {
    for (const h of hosts) await h.close();
    await rex?.stop();
    await foreman?.close();
  });

  const total = async () => (await getJson(rex.foreman, '/dynflow/tasks/count')).json.count as number;
  const job = (over: Partial<JobSpec> = {}): JobSpec => ({ taskId: randomUUID(), host: 'h.example.test', script: 'echo hi', ...over });

  it.each([
    ['not JSON', '{"operation":', 400, /^request body is not valid JSON/],
    ['not an object', '[1,2]', 400, /must be a JSON object/],
    ['no operation', '{"input":{}}', 400, /'operation' is required/],
    ['no input', '{"operation":"ssh"}', 400, /'input' must be an object/],
    ['an empty batch', '{"operation":"ssh","input":{}}', 422, /names no task/],
  ])('refuses a launch with %s', async (_what, body, status, message) => {
    const before = await total();
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', body);
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.json.error).toMatch(message);
    expect(await total()).toBe(before);
  });

  it("answers an unknown operation as smart_proxy_dynflow does", async () => {
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', { operation: 'ansible-runner', input: {} });
    expect([reply.status, reply.json]).toEqual([404, { error: "Unknown operation 'ansible-runner' requested." }]);
  });

  it('stores nothing of a batch when one child is bad: unknown action class, oversized script, no host', async () => {
    const before = await total();
    const good = job();
    const cases: [Record<string, unknown>, number, RegExp][] = [
      [{ action_class: 'Actions::Ansible::Run', action_input: actionInput(job(), rex.url) }, 422, /unknown action class 'Actions::Ansible::Run'/],
      [{ action_class: RUN_SCRIPT, action_input: actionInput(job({ script: 'x'.repeat(1001) }), rex.url) }, 413, /script is 1001 bytes, more than rex.max_script_bytes \(1000\)/],
      [{ action_class: RUN_SCRIPT, action_input: { ...actionInput(job(), rex.url), alternative_names: {}, hostname: '' } }, 422, /names no host/],
      [{ action_class: RUN_SCRIPT, action_input: { ...actionInput(job(), rex.url), alternative_names: { fqdn: 'a/+' } } }, 422, /cannot be an MQTT topic segment/],
      [{ action_class: RUN_SCRIPT, action_input: { ...actionInput(job(), rex.url), proxy_url: undefined } }, 422, /proxy_url is required/],
    ];
    for (const [entry, status, message] of cases) {
      const body = JSON.parse(batchLaunch([good], rex.url)) as { input: Record<string, unknown> };
      body.input[randomUUID()] = entry;
      const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', body);
      expect([reply.status, reply.json.error]).toEqual([status, expect.stringMatching(message)]);
    }
    expect(await total()).toBe(before);
    const status = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: [good.taskId] });
    expect(status.json).toEqual({});
  });

  it('refuses a launch body above max_launch_bytes with 413, in JSON like every dynflow error', async () => {
    const jobs = Array.from({ length: 250 }, () => job({ script: 'y'.repeat(900) }));
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(jobs, rex.url));
    expect(reply.status).toBe(413);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json).toEqual({ error: 'Request body exceeds the limit of 200000 bytes (rex.max_launch_bytes)' });
  });

  it('launches single and legacy tasks under fresh ids', async () => {
    const single = await postJson(rex.foreman, '/dynflow/tasks/launch', { operation: 'single', input: { action_class: RUN_SCRIPT, action_input: actionInput(job(), rex.url) } });
    expect(single.json).toEqual({ result: 'success', task_id: expect.any(String) });
    const legacy = await postJson(rex.foreman, '/dynflow/tasks', { action_name: RUN_SCRIPT, action_input: actionInput(job(), rex.url) });
    expect(legacy.json).toEqual({ task_id: expect.any(String) });
    const known = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: [single.json.task_id, legacy.json.task_id] });
    expect(Object.keys(known.json)).toHaveLength(2);
  });

  it('refuses statuses without ids (422) and task_ids that are not a list (400)', async () => {
    expect((await postJson(rex.foreman, '/dynflow/tasks/statuses', { task_ids: [] })).status).toBe(422);
    expect((await postJson(rex.foreman, '/dynflow/tasks/statuses', {})).status).toBe(422);
    expect((await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: 'x' })).status).toBe(400);
    expect((await postJson(rex.foreman, '/dynflow/tasks/status', {})).json).toEqual({});
  });

  it('refuses callers outside trusted_hosts, and callers without a certificate, as the smart proxy does', async () => {
    const stranger = client(rex.url, await world.host('stranger.example.test'));
    const anonymous = client(rex.url, { ca: world.ca });
    try {
      const r1 = await stranger.send('POST', '/dynflow/tasks/launch', { body: '{}' });
      expect([r1.status, r1.body]).toEqual([403, 'Untrusted client stranger.example.test attempted to access /tasks/launch. Check :trusted_hosts: in settings.yml']);
      const r2 = await anonymous.get('/dynflow/tasks/count');
      expect([r2.status, r2.body]).toEqual([403, 'could not read client cert from environment']);
      const r3 = await anonymous.get('/ssh/jobs');
      expect([r3.status, r3.body]).toEqual([403, 'No client SSL certificate supplied']);
    } finally {
      await stranger.close();
      await anonymous.close();
    }
  });

  it('refuses host updates it cannot use (400, JSON error) and stores nothing of them', async () => {
    const h = new TestHost('upd.example.test', await world.host('upd.example.test'));
    hosts.push(h);
    h.autoRun = false;
    await h.connect(rex.mqttUrl);
    const j = job({ host: h.cn, script: 'sleep 1' });
    await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch([j], rex.url));
    const bell = await waitFor(() => h.doorbells[0], 'the doorbell');
    const fetched = await h.get(bell.content);
    expect(fetched.statusCode).toBe(200);
    await fetched.body.dump();
    const url = bell.metadata.return_url!;
    const bad: [unknown, RegExp][] = [
      ['{"version":"1","updates":[', /not valid JSON/],
      [{ version: '2', updates: [] }, /unsupported update version "2"/],
      [{ version: '1', updates: [{ type: 'output', timestamp: 'yesterday', stream: 'stdout', content: 'x' }] }, /timestamp is not an ISO 8601 time/],
      [{ version: '1', updates: [{ type: 'output', stream: 'stdout', content: 'ok' }, { type: 'exit', exit_code: 'zero' }] }, /exit_code must be an integer/],
      [{ version: '1', updates: [{ type: 'progress' }] }, /type must be 'output' or 'exit'/],
    ];
    for (const [body, message] of bad) {
      const reply = await h.post(url, typeof body === 'string' ? body : JSON.stringify(body));
      expect(reply.status).toBe(400);
      expect(JSON.parse(reply.text).error).toMatch(message);
    }
    const status = await getJson(rex.foreman, `/dynflow/tasks/${j.taskId}/status`);
    expect(status.json.actions[1].output).toEqual({ state: 'delivered', result: [] });
    // The legacy body is understood; an exit without a timestamp is taken at receipt.
    expect(await h.postUpdate(url, { output: ['one', 'two'], type: 'stdout' })).toBe(200);
    expect(await h.postUpdate(url, { version: '1', updates: [{ type: 'exit', exit_code: 3 }] })).toBe(200);
    const data = await waitFor(() => foreman.results.get(`ft-${j.taskId}`), 'the result');
    expect(data.exit_status).toBe(3);
    expect(data.result.map((r) => r.output)).toEqual(['one', 'two']);
    // Finished: the job is gone for the host.
    expect(await h.postUpdate(url, { version: '1', updates: [] })).toBe(404);
  });
});
