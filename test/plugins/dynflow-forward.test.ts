// Dynflow operations proxy-proxy does not host go to a backend that runs them and stay there:
// status, cancel and per-task routes reach the owner, also after a restart (docs/plugin-protocols.md §1).
import { afterEach, describe, expect, it } from '@jest/globals';
import { batchLaunch, startPluginHarness, waitFor, type PluginHarness } from './plugin-harness.js';

const JSON_POST = { 'content-type': 'application/json' };
let h: PluginHarness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const launches = async (sim: PluginHarness['sims'][number]) => (await sim.calls()).filter((c) => c.method === 'POST' && c.path.startsWith('/dynflow/tasks/launch')).length;

describe('forwarded dynflow operations', () => {
  it('an Ansible launch lands on the backend that runs ansible-runner; status and cancel reach it, also after a restart; count sums', async () => {
    h = await startPluginHarness(
      [
        { name: 'sim-a', args: ['--features', 'dynflow', '--dynflow-operations', 'ssh', '--task-ms', '600000'] },
        { name: 'sim-b', args: ['--features', 'dynflow,ansible', '--dynflow-operations', 'ansible-runner', '--task-ms', '600000'] },
      ],
      '  dynflow: {}\n  ansible: {}\n',
    );
    const [a, b] = h.sims;
    const ops = await h.http.get('/dynflow/tasks/operations');
    expect(JSON.parse(ops.body)).toEqual(['single', 'ssh', 'ansible-runner']);

    const { body, children } = batchLaunch('ansible-runner', ['host1.example.test', 'host2.example.test']);
    const launched = await h.http.send('POST', '/dynflow/tasks/launch', { body, headers: JSON_POST });
    expect(launched.status).toBe(200);
    const parent = (JSON.parse(launched.body) as { parent: { task_id: string; result: string } }).parent;
    expect(parent.result).toBe('success');
    expect(await launches(a!)).toBe(0);
    expect(await launches(b!)).toBe(1);
    const held = (await b!.state()) as unknown as { dynflow: { tasks: { id: string }[] } };
    expect(held.dynflow.tasks.map((t) => t.id).sort()).toEqual([parent.task_id, ...children].sort());

    const statuses = await h.http.send('POST', '/dynflow/tasks/statuses', { body: JSON.stringify({ task_ids: children }), headers: JSON_POST });
    expect(statuses.status).toBe(200);
    expect(Object.keys(JSON.parse(statuses.body) as object).sort()).toEqual([...children].sort());

    // sim-a runs none, sim-b the two children (the parent stopped once they existed).
    const count = JSON.parse((await h.http.get('/dynflow/tasks/count?state=running')).body) as { count: number; state: string };
    expect(count).toEqual({ count: 2, state: 'running' });

    await h.restart();
    await b!.clearCalls();
    const status = await h.http.get(`/dynflow/tasks/${children[0]}/status`);
    expect(status.status).toBe(200);
    expect((JSON.parse(status.body) as { id: string; state: string }).id).toBe(children[0]);
    const cancel = await h.http.send('POST', `/dynflow/tasks/${children[1]}/cancel`, { body: '', headers: JSON_POST });
    expect(JSON.parse(cancel.body)).toEqual({ task_id: children[1], canceled_steps_count: 1 });
    const reached = (await b!.calls()).map((c) => `${c.method} ${c.path}`);
    expect(reached).toEqual(expect.arrayContaining([`GET /dynflow/tasks/${children[0]}/status`, `POST /dynflow/tasks/${children[1]}/cancel`]));
    expect((await a!.calls()).filter((c) => c.path.includes(children[0]!) || c.path.includes(children[1]!))).toEqual([]);
    const after = JSON.parse((await h.http.get('/dynflow/tasks/count?state=running')).body) as { count: number };
    expect(after.count).toBe(1);
  });

  it('a batch stays on one backend as a whole, and Foreman gets the callbacks from it', async () => {
    h = await startPluginHarness(
      [
        { name: 'sim-a', args: ['--features', 'dynflow', '--task-ms', '200'] },
        { name: 'sim-b', args: ['--features', 'dynflow', '--task-ms', '200'] },
      ],
      '  dynflow: {}\n',
    );
    const hosts = Array.from({ length: 6 }, (_, i) => `host${i}.example.test`);
    const { body, children } = batchLaunch('ansible-runner', hosts);
    expect((await h.http.send('POST', '/dynflow/tasks/launch', { body, headers: JSON_POST })).status).toBe(200);
    const held = await Promise.all(h.sims.map(async (s) => ((await s.state()) as unknown as { dynflow: { tasks: { id: string; parentId: string | null }[] } }).dynflow.tasks));
    const owner = held.findIndex((tasks) => tasks.length > 0);
    expect(held[1 - owner]).toEqual([]);
    expect(held[owner]!.filter((t) => t.parentId !== null).map((t) => t.id).sort()).toEqual([...children].sort());

    const callback = await waitFor('the callback', async () => h!.foreman.requests.find((r) => r.url === '/foreman_tasks/api/tasks/callback'));
    const doc = JSON.parse(callback.body) as { callbacks: { callback: { task_id: string }; data: { output: { output: string }[] } }[] };
    expect(doc.callbacks.map((c) => c.callback.task_id).sort()).toEqual([...children].sort());
    for (const c of doc.callbacks) expect(c.data.output[0]!.output).toContain(`run by ${h.sims[owner]!.name}`);
  });

  it('the least loaded backend gets the next launch', async () => {
    h = await startPluginHarness(
      [
        { name: 'sim-a', args: ['--features', 'dynflow', '--task-ms', '600000'] },
        { name: 'sim-b', args: ['--features', 'dynflow', '--task-ms', '600000'] },
      ],
      '  dynflow: {}\n',
    );
    const [a, b] = h.sims;
    const first = batchLaunch('ansible-runner', ['h1', 'h2', 'h3']);
    expect((await h.http.send('POST', '/dynflow/tasks/launch', { body: first.body, headers: JSON_POST })).status).toBe(200);
    // A tie goes to the first configured backend.
    expect([await launches(a!), await launches(b!)]).toEqual([1, 0]);
    const second = batchLaunch('ansible-runner', ['h4']);
    expect((await h.http.send('POST', '/dynflow/tasks/launch', { body: second.body, headers: JSON_POST })).status).toBe(200);
    expect([await launches(a!), await launches(b!)]).toEqual([1, 1]);
    const third = batchLaunch('ansible-runner', ['h5']);
    expect((await h.http.send('POST', '/dynflow/tasks/launch', { body: third.body, headers: JSON_POST })).status).toBe(200);
    // sim-a runs 3 tasks, sim-b 1.
    expect([await launches(a!), await launches(b!)]).toEqual([1, 2]);
  });

  it('a refused backend at launch → the next; a backend down after launch → its tasks answer 503, nothing is launched again', async () => {
    h = await startPluginHarness(
      [
        { name: 'sim-a', args: ['--features', 'dynflow', '--task-ms', '600000'] },
        { name: 'sim-b', args: ['--features', 'dynflow', '--task-ms', '600000'] },
      ],
      '  dynflow: {}\n',
    );
    const [a, b] = h.sims;
    // Both known to run ansible-runner, neither able to say how busy it is: configured order.
    expect((await h.http.get('/dynflow/tasks/operations')).status).toBe(200);
    await b!.faults({ fail_path: { method: 'GET', pattern: '^/dynflow/tasks/count', status: 500, body: 'busy' } });
    await a!.faults({ refuse: true });
    const { body, children } = batchLaunch('ansible-runner', ['host1.example.test']);
    const launched = await h.http.send('POST', '/dynflow/tasks/launch', { body, headers: JSON_POST });
    expect(launched.status).toBe(200);
    expect(await launches(b!)).toBe(1);
    await a!.faults({ refuse: false });
    expect(await launches(a!)).toBe(0);

    // sim-b goes away with the task: its status is 503 with a clear text, never looked up on sim-a.
    await b!.kill();
    await a!.clearCalls();
    const status = await h.http.get(`/dynflow/tasks/${children[0]}/status`, { accept: 'text/plain' });
    expect(status.status).toBe(503);
    expect(status.body).toMatch(new RegExp(`task ${children[0]} lives on backend sim-b, which cannot be reached`));
    const list = await h.http.send('POST', '/dynflow/tasks/status', { body: JSON.stringify({ task_ids: children }), headers: JSON_POST });
    expect(list.status).toBe(503);
    expect((await a!.calls()).filter((c) => c.path.startsWith('/dynflow/tasks/') && c.method === 'POST')).toEqual([]);
  });

  it('a launch that may have reached a backend is never sent to another', async () => {
    h = await startPluginHarness(
      [
        { name: 'sim-a', args: ['--features', 'dynflow', '--task-ms', '600000'] },
        { name: 'sim-b', args: ['--features', 'dynflow', '--task-ms', '600000'] },
      ],
      '  dynflow: {}\n',
    );
    const [a, b] = h.sims;
    await a!.faults({ fail_path: { method: 'POST', pattern: '^/dynflow/tasks/launch', status: 200, body: '', action: 'apply_then_hang' } });
    const { body } = batchLaunch('ansible-runner', ['host1.example.test']);
    const launched = await h.http.send('POST', '/dynflow/tasks/launch', { body, headers: JSON_POST });
    expect(launched.status).toBe(503);
    expect(launched.body).toMatch(/may have reached backend sim-a.*not sent again/);
    expect(await launches(a!)).toBe(1);
    expect(await launches(b!)).toBe(0);
  });
});
