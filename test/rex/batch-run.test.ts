// A batch launched as Foreman does it, run by several hosts over the embedded broker: doorbells,
// fetches with each host's own certificate, output and exit, callbacks back to Foreman.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { client } from '../support/http-client.js';
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

describe('a batch through the pull-mqtt spool', () => {
  let world: World;
  let foreman: FakeForeman;
  let rex: RexDaemon;
  const hosts: TestHost[] = [];
  const names = ['web1.example.test', 'web2.example.test', 'db1.example.test'];
  const jobs: JobSpec[] = names.map((host, i) => ({
    taskId: randomUUID(),
    host,
    script: `echo hello from ${host}\r\nerr warning ${i}\ngate\necho done\nexit ${i}`,
    effectiveUser: i === 0 ? 'deploy' : null,
  }));
  let parentId: string;

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    // A window wide enough for the three exits the test releases together (below) on a busy machine.
    rex = await startRexDaemon(world, foreman, { rex: { callback: { batch_interval_ms: 1000, retry: { base_ms: 100, max_ms: 400 } } } });
    for (const name of names) {
      const h = new TestHost(name, await world.host(name));
      await h.connect(rex.mqttUrl);
      hosts.push(h);
    }
  });

  afterAll(async () => {
    for (const h of hosts) await h.close();
    // A doorbell that failed on its own (not a refused POST the test provoked) is a defect.
    expect(hosts.flatMap((h) => h.errors.map((e) => `${h.cn}: ${e.message}`))).toEqual([]);
    await rex?.stop();
    await foreman?.close();
  });

  it('answers the launch with the parent only and knows the children under Foreman ids at once', async () => {
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(jobs, rex.url));
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(Object.keys(reply.json)).toEqual(['parent']);
    expect(reply.json.parent).toEqual({ result: 'success', task_id: expect.any(String) });
    parentId = reply.json.parent.task_id;
    const status = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: [...jobs.map((j) => j.taskId), parentId, 'not-a-task'] });
    expect(Object.keys(status.json).sort()).toEqual([...jobs.map((j) => j.taskId), parentId].sort());
    // Dynflow keeps the batch's parent running while a child runs.
    expect(status.json[parentId]).toEqual({ state: 'running', result: 'pending' });
  });

  it('rings every host with a doorbell typed as yggdrasil wants it, and each fetches its own script', async () => {
    await waitFor(() => hosts.every((h) => h.doorbells.length > 0 && h.fetches.length > 0), 'every host to fetch');
    for (const [i, h] of hosts.entries()) {
      const bell = h.doorbells[0]!;
      expect(bell.type).toBe('data');
      expect(bell.version).toBe(1);
      expect(bell.directive).toBe('foreman');
      expect(bell.sent).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(Object.values(bell.metadata).every((v) => typeof v === 'string')).toBe(true);
      expect(bell.metadata.event).toBe('start');
      expect(bell.metadata.version).toBe('v1');
      expect(bell.metadata.effective_user).toBe(i === 0 ? 'deploy' : '');
      expect(bell.content.startsWith(`${rex.url}/ssh/jobs/${bell.metadata.job_uuid}?delivery=`)).toBe(true);
      expect(bell.metadata.return_url.startsWith(`${rex.url}/ssh/jobs/${bell.metadata.job_uuid}/update?delivery=`)).toBe(true);
      const fetch = h.fetches[0]!;
      expect(fetch.status).toBe(200);
      // Carriage returns are stripped, as PullScript does.
      expect(fetch.body).toBe(jobs[i]!.script.replace(/\r/g, ''));
      expect(fetch.user).toBe(i === 0 ? 'deploy' : undefined);
    }
  });

  it('shows live output in the status Foreman polls, then the result through coalesced callbacks', async () => {
    // Each script waits at its gate: released together, the three exits fall in one batch window.
    for (const h of hosts) h.openGate();
    await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'every result at Foreman');
    // Three jobs finishing together make fewer POSTs than jobs (one POST per job would not).
    const accepted = foreman.posts.filter((p) => p.status === 200);
    expect(accepted.length).toBeLessThan(jobs.length);
    for (const post of accepted) {
      expect(post.cn).toBe('proxy.example.test');
      expect(post.accept).toBe('application/json,version=2');
      expect(Object.keys(post.body)).toEqual(['callbacks']);
    }
    for (const [i, job] of jobs.entries()) {
      const data = foreman.results.get(`ft-${job.taskId}`)!;
      expect(Object.keys(data).sort()).toEqual(['exit_status', 'exit_status_timestamp', 'result', 'state']);
      expect(data.exit_status).toBe(i);
      expect(data.state).toBe('running');
      expect(data.result.map((r) => [r.output_type, r.output])).toEqual([
        ['stdout', `hello from ${job.host}\n`],
        ['stderr', `warning ${i}\n`],
        ['stdout', 'done\n'],
      ]);
      const stamps = data.result.map((r) => r.timestamp);
      for (let k = 1; k < stamps.length; k++) expect(stamps[k]!).toBeGreaterThan(stamps[k - 1]!);
      expect(typeof data.exit_status_timestamp).toBe('number');
      expect(data.exit_status_timestamp!).toBeGreaterThan(stamps.at(-1)!);
      const entry = accepted.flatMap((p) => p.body.callbacks!).find((e) => e.callback.task_id === `ft-${job.taskId}`)!;
      expect(entry.callback).toEqual({ task_id: `ft-${job.taskId}`, step_id: 3 });
    }
  });

  it('counts the spool in /metrics and the status document', async () => {
    await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'every result at Foreman');
    const metrics = (await rex.foreman.get('/metrics')).body;
    expect(metrics).toMatch(/proxy_proxy_rex_jobs\{state="finished"\} 3/);
    expect(metrics).toMatch(/proxy_proxy_rex_jobs\{state="running"\} 0/);
    expect(metrics).toMatch(/proxy_proxy_rex_doorbells_sent_total 3/);
    expect(metrics).toMatch(/proxy_proxy_rex_mqtt_connected 1/);
    const status = JSON.parse((await rex.foreman.get('/proxy_proxy/status')).body);
    expect(status.rex).toMatchObject({ jobs: { finished: 3 }, mqtt: 'connected', doorbellsSent: 3, pickupTimeouts: 0 });
    // Exit 1 and 2 failed; the per-minute count is the store's (exact figures: test/state/job-store.test.ts).
    expect(status.rex.failed).toBe(2);
    expect(status.rex.finishedLastMinute).toBeLessThanOrEqual(3);
    // The spool answers these itself.
    for (const name of ['script', 'dynflow']) expect(status.features).toContainEqual(expect.objectContaining({ name, policy: 'local' }));
    // The page's spool bar: one finished, two failed.
    const page = (await rex.foreman.get('/proxy_proxy/')).body;
    expect(page).toContain('<rect class="sp-finished" data-state="finished" x="0" y="0" width="200" height="18"><title>finished: 1 (33.3 %)</title></rect>');
    expect(page).toContain('<title>failed: 2 (66.7 %)</title>');
  });

  it('answers GET status in the plan-hash shape with PullScript output under the callback task id', async () => {
    const job = jobs[1]!;
    const reply = await getJson(rex.foreman, `/dynflow/tasks/${job.taskId}/status`);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ id: job.taskId, class: 'Dynflow::ExecutionPlan', state: 'stopped', result: 'success' });
    const picked = (reply.json.actions as { input: { task_id?: string }; output: Record<string, unknown> }[]).find((a) => a.input.task_id === `ft-${job.taskId}`)!;
    expect(picked.output).toEqual(foreman.results.get(`ft-${job.taskId}`));
    expect(JSON.stringify(reply.json)).not.toContain('hunter2');
    const full = await postJson(rex.foreman, '/dynflow/tasks/statuses', { task_ids: [job.taskId, parentId] });
    expect(full.json[job.taskId].actions).toHaveLength(3);
    expect(full.json[parentId]).toMatchObject({ id: parentId, state: 'stopped', result: 'success' });
    expect((await getJson(rex.foreman, '/dynflow/tasks/count?state=running')).json).toEqual({ count: 0, state: 'running' });
    expect((await getJson(rex.foreman, '/dynflow/tasks/operations')).json).toEqual(['single', 'ssh']);
    expect((await getJson(rex.foreman, '/dynflow/tasks/nope/status')).status).toBe(404);
  });

  it('serves a job once, to its own host only; strangers get empty answers, the certificate-less the smart proxy 403', async () => {
    const [a, b] = hosts;
    const bell = a!.doorbells[0]!;
    // The job was delivered: a second fetch, even by the same host, starts nothing.
    const again = await a!.get(bell.content);
    expect([again.statusCode, await again.body.text()]).toEqual([404, '']);
    const other = await b!.get(bell.content);
    expect([other.statusCode, await other.body.text()]).toEqual([404, '']);
    const anonymous = client(rex.url, { ca: world.ca });
    try {
      const r = await anonymous.get(new URL(bell.content).pathname);
      expect([r.status, r.body]).toEqual([403, 'No client SSL certificate supplied']);
    } finally {
      await anonymous.close();
    }
    // An update for a job nobody knows, or with another doorbell's nonce: 404.
    expect(await a!.postUpdate(`${rex.url}/ssh/jobs/${randomUUID()}/update`, { version: '1', updates: [] })).toBe(404);
    expect(await a!.postUpdate(bell.metadata.return_url!.replace(/delivery=\w+/, 'delivery=0000'), { version: '1', updates: [] })).toBe(404);
  });

  it('offers dynflow and script in /features and /v2/features like a pull-mqtt proxy', async () => {
    const features = await getJson(rex.foreman, '/features');
    expect(features.json).toEqual(['dynflow', 'script']);
    const v2 = await getJson(rex.foreman, '/v2/features');
    expect(Object.keys(v2.json)).toContain('dynflow');
    expect(v2.json.dynflow).toEqual({ http_enabled: false, https_enabled: true, settings: {}, state: 'running', capabilities: ['single', 'ssh'] });
    expect(v2.json.script).toEqual({ http_enabled: false, https_enabled: true, settings: { mode: 'pull-mqtt' }, state: 'running', capabilities: [] });
    expect(Object.keys(v2.json).slice(-2)).toEqual(['dynflow', 'script']);
    const version = await getJson(rex.foreman, '/version');
    expect(Object.keys(version.json.modules)).toEqual(['dynflow', 'script']);
    const pubkey = await rex.foreman.get('/ssh/pubkey');
    expect(pubkey.status).toBe(200);
  });

  it('keeps a batch parent running until its last child ends', async () => {
    const [quick, slow] = [hosts[0]!, hosts[1]!];
    slow.closeGate();
    const pair: JobSpec[] = [
      { taskId: randomUUID(), host: quick.cn, script: 'echo quick\nexit 0' },
      { taskId: randomUUID(), host: slow.cn, script: 'echo slow\ngate\nexit 0' },
    ];
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(pair, rex.url));
    const parent = reply.json.parent.task_id as string;
    await waitFor(() => foreman.results.has(`ft-${pair[0]!.taskId}`), 'the first child at Foreman');
    await waitFor(() => slow.updates.some((u) => u.status === 200), 'the second child running');
    const during = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: [parent, ...pair.map((j) => j.taskId)] });
    expect(during.json).toEqual({
      [parent]: { state: 'running', result: 'pending' },
      [pair[0]!.taskId]: { state: 'stopped', result: 'success' },
      [pair[1]!.taskId]: { state: 'running', result: 'pending' },
    });
    const plan = await getJson(rex.foreman, `/dynflow/tasks/${parent}/status`);
    expect(plan.json).toMatchObject({ id: parent, state: 'running', result: 'pending', ended_at: null });

    slow.openGate();
    await waitFor(() => foreman.results.has(`ft-${pair[1]!.taskId}`), 'the last child at Foreman');
    const after = await postJson(rex.foreman, '/dynflow/tasks/statuses', { task_ids: [parent, pair[1]!.taskId] });
    expect(after.json[parent]).toMatchObject({ state: 'stopped', result: 'success', ended_at: after.json[pair[1]!.taskId].ended_at });
  });
});
