// Host job routes name the host by its client certificate. With rex.mode: forward, Script jobs
// run on the backends, but a backend reached through proxy-proxy would see proxy-proxy's
// certificate and hand out the jobs of the host proxy-proxy's certificate names: the routes are
// never forwarded (docs/host-identity.md). The public key routes are, as a control.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { client, type Client } from '../support/http-client.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';

describe('rex.mode: forward', () => {
  let sim: SimProcess;
  let daemon: Daemon;
  let http: Client;
  beforeAll(async () => {
    sim = await startSimProcess({ name: 'sim-a', args: ['--features', 'dynflow', '--dynflow-operations', 'ssh'] });
    // Health checks that a loaded machine does not fail: what is asserted is where requests go.
    daemon = new Daemon(
      parseConfig(`bind_host: 127.0.0.1
http_port: 0
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-state-'))}
foreman_url: http://127.0.0.1:9
health_check: { interval_ms: 60000, timeout_ms: 10000, rise: 1, fall: 3 }
rex: { enabled: true, mode: forward }
backends:
  sim-a: { url: ${sim.url} }
features:
  dynflow: {}
  script: {}
`),
      { silent: true },
    );
    await daemon.start();
    http = client(daemon.url('http')!);
  });
  afterAll(async () => {
    await http?.close();
    await daemon?.stop();
    await sim?.stop();
  });

  it('host job routes are answered 404 by proxy-proxy and never reach a backend; the key routes do', async () => {
    await sim.clearCalls();
    const uuid = '9b1c3a52-5d0e-4a8e-9a55-1c2d3e4f5a6b';
    const answers = [
      await http.get('/ssh/jobs'),
      await http.get(`/ssh/jobs/${uuid}`),
      await http.get(`/ssh/jobs/${uuid}/cancel`),
      await http.send('POST', `/ssh/jobs/${uuid}/update`, { body: '{"version":"1","updates":[]}', headers: { 'content-type': 'application/json' } }),
    ];
    expect(answers.map((a) => [a.status, a.body])).toEqual(Array(4).fill([404, 'Requested url was not found']));
    // The backend's own catalog refreshes (/v2/features, /version) may come in meanwhile.
    const sshCalls = async () => (await sim.calls()).map((c) => c.path).filter((p) => p.startsWith('/ssh'));
    expect(await sshCalls()).toEqual([]);
    await http.get('/ssh/pubkey');
    expect(await sshCalls()).toEqual(['/ssh/pubkey']);
  });
});
