// The runtime operations API: status, drain / maintenance / enable, and its own allow-list.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';

describe('runtime API under /proxy_proxy/', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backends: 2, features: '\n  tftp: { policy: replicate, on_backend_down: catch_up, min_success: 1 }\n  dns: {}\n  logs: {}\n' });
  });
  afterAll(() => h.stop());

  it('status shows backends, features and convergence state', async () => {
    const r = await h.http.get('/proxy_proxy/status');
    expect(r.status).toBe(200);
    const doc = JSON.parse(r.body);
    expect(doc.backends.map((b: { name: string; state: string }) => [b.name, b.state])).toEqual([
      ['sim-a', 'up'],
      ['sim-b', 'up'],
    ]);
    expect(doc.features).toContainEqual(expect.objectContaining({ name: 'tftp', policy: 'replicate', on_backend_down: 'catch_up', min_success: 1 }));
    // Answered by proxy-proxy itself: not "primary", whatever the module's default policy.
    expect(doc.features).toContainEqual(expect.objectContaining({ name: 'logs', policy: 'local', backends: [] }));
    expect(doc.convergence).toEqual({ openSagas: 0, pendingCompensations: [], catchUpBacklog: { tftp: { 'sim-a': 0, 'sim-b': 0 } } });
  });

  it('drain takes a backend out of writes, enable brings it back and it catches up', async () => {
    const drained = await h.http.post('/proxy_proxy/backends/sim-b/drain');
    expect(drained.status).toBe(200);
    expect(JSON.parse(drained.body)).toMatchObject({ backend: 'sim-b', state: 'drained' });
    expect((await h.http.post('/tftp/PXELinux/00:11:22:33:44:aa', { pxeconfig: 'while drained\n' })).status).toBe(200);
    expect((await h.sims[1]!.state()).tftp['pxelinux.cfg/01-00-11-22-33-44-aa']).toBeUndefined();
    expect((await h.http.post('/proxy_proxy/backends/sim-b/enable')).status).toBe(200);
    // A drained backend missed writes: the ledger brings it up to date once it is back.
    const end = Date.now() + 5000;
    while ((await h.sims[1]!.state()).tftp['pxelinux.cfg/01-00-11-22-33-44-aa'] === undefined && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect((await h.sims[1]!.state()).tftp['pxelinux.cfg/01-00-11-22-33-44-aa']).toBe('while drained\n');
    // The status page's history has the drained stretch, recorded when it began.
    const history = JSON.parse((await h.http.get('/proxy_proxy/history')).body) as { transitions: Record<string, { state: string; why: string }[]> };
    expect(history.transitions['sim-b']!.map((t) => t.state)).toContain('drained');
    expect(history.transitions['sim-b']!.find((t) => t.state === 'drained')!.why).toBe('runtime API: drain');
    expect(history.transitions['sim-a']!.map((t) => t.state)).toEqual(['up']);
  });

  it('maintenance and unknown backends', async () => {
    expect(JSON.parse((await h.http.post('/proxy_proxy/backends/sim-a/maintenance')).body).state).toBe('maintenance');
    expect((await h.http.post('/proxy_proxy/backends/sim-a/enable')).status).toBe(200);
    const r = await h.http.post('/proxy_proxy/backends/nope/drain');
    expect(r.status).toBe(404);
    expect(r.body).toBe('Unknown backend nope');
    expect((await h.http.get('/proxy_proxy/nothing')).status).toBe(404);
  });
});

describe('runtime API allow-list', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backends: 1, extra: 'runtime_api: { allow: [10.0.0.0/8] }', features: '\n  dns: {}\n' });
  });
  afterAll(() => h.stop());

  it('shows a client outside runtime_api.allow the smart proxy 404, and logs the refusal', async () => {
    const r = await h.http.get('/proxy_proxy/status');
    expect(r.status).toBe(404);
    expect(r.body).toBe('Requested url was not found');
    expect(r.headers['x-cascade']).toBe('pass');
    expect((await h.http.post('/proxy_proxy/backends/sim-a/drain')).status).toBe(404);
    const logs = h.daemon.logs.query(undefined) as { logs: { level: string; message: string }[] };
    expect(logs.logs.some((l) => l.level === 'WARN' && /127\.0\.0\.1 is not in runtime_api\.allow/.test(l.message))).toBe(true);
    expect(h.daemon.runtime.backends.get('sim-a')!.state).toBe('up');
  });
});
