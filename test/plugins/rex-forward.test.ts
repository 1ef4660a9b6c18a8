// rex.mode: forward: Script jobs go to the dynflow backends like any other operation, nothing is
// hosted (no spool, no broker), and /ssh/pubkey is the key of the script feature's first backend
// (docs/plugin-protocols.md §4).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { batchLaunch, startPluginHarness, waitFor, type PluginHarness } from './plugin-harness.js';

let h: PluginHarness;

beforeAll(async () => {
  h = await startPluginHarness(
    [
      { name: 'sim-a', args: ['--features', 'dynflow,script', '--dynflow-operations', 'ssh', '--task-ms', '600000'] },
      { name: 'sim-b', args: ['--features', 'dynflow,script', '--dynflow-operations', 'ssh', '--task-ms', '600000'] },
    ],
    '  script: { backends: [sim-b, sim-a] }\n',
    'rex: { enabled: true, mode: forward }\n',
  );
  await waitFor('every backend reported', async () => (h.sims.every((s) => h.daemon.runtime.catalog.report(s.name)) ? true : undefined));
}, 60_000);

afterAll(async () => {
  await h.stop();
});

describe('rex.mode: forward', () => {
  it('hosts nothing: no spool, and the backends are asked for the key of the first script backend', async () => {
    expect(h.daemon.rex).toBeUndefined();
    const key = await h.http.get('/ssh/pubkey');
    expect(key.status).toBe(200);
    expect(key.body).toMatch(/ foreman-proxy@sim-b\n$/);
    const again = await h.http.get('/ssh/pubkey');
    expect(again.body).toBe(key.body);
  });

  it('advertises the backends script feature (mode ssh, cockpit), not the pull-mqtt spool', async () => {
    const v2 = JSON.parse((await h.http.get('/v2/features')).body) as Record<string, { settings: Record<string, unknown>; capabilities: string[] }>;
    expect(v2.script!.settings).toEqual({ mode: 'ssh' });
    expect(v2.script!.capabilities).toEqual(['cockpit']);
    expect(v2.dynflow!.capabilities).toEqual(['single', 'ssh']);
  });

  it('a Script (ssh) batch goes to a backend as a whole', async () => {
    const { body, children } = batchLaunch('ssh', ['host1.example.test', 'host2.example.test']);
    const launched = await h.http.send('POST', '/dynflow/tasks/launch', { body, headers: { 'content-type': 'application/json' } });
    expect(launched.status).toBe(200);
    const held = await Promise.all(h.sims.map(async (s) => ((await s.state()) as unknown as { dynflow: { tasks: { id: string }[] } }).dynflow.tasks.map((t) => t.id)));
    const owner = held.findIndex((ids) => ids.length > 0);
    expect(held[1 - owner]).toEqual([]);
    expect(held[owner]).toEqual(expect.arrayContaining(children));
    const status = await h.http.send('POST', '/dynflow/tasks/status', { body: JSON.stringify({ task_ids: children }), headers: { 'content-type': 'application/json' } });
    expect(Object.keys(JSON.parse(status.body) as object).sort()).toEqual([...children].sort());
  });
});
