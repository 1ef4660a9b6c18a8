// Host job routes name the host by its client certificate. With rex.mode: forward, Script jobs
// run on the backends, but a backend reached through proxy-proxy would see proxy-proxy's
// certificate and hand out the jobs of the host proxy-proxy's certificate names: the routes are
// never forwarded (docs/host-identity.md). The public key routes are, as a control.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startPluginHarness, type PluginHarness } from './plugin-harness.js';

describe('rex.mode: forward', () => {
  let h: PluginHarness;
  beforeAll(async () => {
    h = await startPluginHarness(
      [{ name: 'sim-a', args: ['--features', 'dynflow', '--dynflow-operations', 'ssh'] }],
      '  dynflow: {}\n  script: {}\n',
      'rex: { enabled: true, mode: forward }',
    );
  });
  afterAll(() => h.stop());

  it('host job routes are answered 404 by proxy-proxy and never reach a backend; the key routes do', async () => {
    const sim = h.sims[0]!;
    await sim.clearCalls();
    const uuid = '9b1c3a52-5d0e-4a8e-9a55-1c2d3e4f5a6b';
    const answers = [
      await h.http.get('/ssh/jobs'),
      await h.http.get(`/ssh/jobs/${uuid}`),
      await h.http.get(`/ssh/jobs/${uuid}/cancel`),
      await h.http.send('POST', `/ssh/jobs/${uuid}/update`, { body: '{"version":"1","updates":[]}', headers: { 'content-type': 'application/json' } }),
    ];
    expect(answers.map((a) => [a.status, a.body])).toEqual(Array(4).fill([404, 'Requested url was not found']));
    // The backend's own catalog refreshes (/v2/features, /version) may come in meanwhile.
    const sshCalls = async () => (await sim.calls()).map((c) => c.path).filter((p) => p.startsWith('/ssh'));
    expect(await sshCalls()).toEqual([]);
    await h.http.get('/ssh/pubkey');
    expect(await sshCalls()).toEqual(['/ssh/pubkey']);
  });
});
