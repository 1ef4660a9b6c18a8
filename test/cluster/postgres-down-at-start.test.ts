// An instance started while its PostgreSQL state database is down (state.driver: postgresql):
// it starts all the same; a replicated write and a REX launch are refused with 503 "state
// database unavailable…" and nothing reaches a backend; a failover feature, which needs no
// state, answers; once the server is up the instance connects, brings the schema up to date by
// itself, and writes and jobs go through.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { configFromObject } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { checkedUp } from '../support/daemon-harness.js';
import { client, type Client } from '../support/http-client.js';
import { foremanAcl, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startCluster, type TestCluster } from '../support/postgres.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';
import { batchLaunch, createWorld, FOREMAN_CN, postJson, PROXY_CN, startFakeForeman, TestHost, waitFor, type FakeForeman, type World } from '../rex/rex-harness.js';

describe('an instance started while PostgreSQL is down', () => {
  let pg: TestCluster;
  let world: World;
  let foreman: FakeForeman;
  let broker: Mosquitto;
  let sims: SimProcess[] = [];
  let daemon: Daemon | undefined;
  let http: Client | undefined;
  let host: TestHost | undefined;

  beforeAll(async () => {
    pg = await startCluster();
    pg.stop('fast');
    world = await createWorld();
    foreman = await startFakeForeman(world);
    broker = await startMosquitto({
      plain: false,
      tls: { caFile: world.pki.caCert, certFile: world.proxy.cert, keyFile: world.proxy.key, acl: foremanAcl(PROXY_CN) },
    });
    sims = await Promise.all(['sim-a', 'sim-b'].map((name) => startSimProcess({ name })));
  }, 60_000);

  afterAll(async () => {
    await host?.close();
    await http?.close();
    await daemon?.stop();
    await Promise.all(sims.map((s) => s.stop()));
    await broker?.dispose();
    await foreman?.close();
    pg?.destroy();
  });

  const messages = () => ((daemon!.logs.query() as { logs: { message: string }[] }).logs ?? []).map((l) => l.message);
  const tftpWrites = async () => (await Promise.all(sims.map((s) => s.calls()))).flat().filter((c) => c.method === 'POST' && c.path.startsWith('/tftp/')).length;

  it('starts, refuses what must be recorded with 503, serves the rest, and catches up by itself once the database is up', async () => {
    const config = configFromObject({
      bind_host: '127.0.0.1',
      https_port: 0,
      ssl_certificate: world.proxy.cert,
      ssl_private_key: world.proxy.key,
      ssl_ca_file: world.pki.caCert,
      trusted_hosts: [FOREMAN_CN],
      foreman_url: foreman.url,
      state_dir: mkdtempSync(join(tmpdir(), 'pp-pg-down-')),
      log_level: 'DEBUG',
      shutdown_timeout_ms: 3000,
      state: { driver: 'postgresql', url: pg.url, pool_size: 4 },
      health_check: { interval_ms: 60_000, timeout_ms: 1000, rise: 1, fall: 1 },
      backends: Object.fromEntries(sims.map((s) => [s.name, { url: s.url, connect_timeout_ms: 500, response_timeout_ms: 3000 }])),
      features: { tftp: { policy: 'replicate', on_backend_down: 'refuse' }, dns: { policy: 'failover' } },
      rex: {
        enabled: true,
        mqtt: { broker: broker.tlsUrl, ttl: 1, resend_interval: 3 },
        callback: { batch_interval_ms: 50, retry: { base_ms: 100, max_ms: 400 } },
      },
    });
    daemon = new Daemon(config, { silent: true });
    await daemon.start();
    // Both backends up (a loaded machine may fail a first check, and checks are slow here).
    await checkedUp(daemon);
    http = client(daemon.url('https')!, world.foreman);
    expect(messages()).toContainEqual(expect.stringMatching(/^state database unavailable: .* not reached yet/));

    const refused = await http.post('/tftp/PXELinux/00:16:3e:00:0c:01', { pxeconfig: 'during\n' });
    expect([refused.status, refused.body]).toEqual([503, expect.stringMatching(/^tftp write refused, nothing was written: the state store cannot record it \(state database unavailable: /)]);
    expect(await tftpWrites()).toBe(0);
    const job = { taskId: randomUUID(), host: 'pgdown.example.test', script: 'echo after\nexit 0' };
    const launch = () => postJson(http!, '/dynflow/tasks/launch', batchLaunch([job], daemon!.url('https')!));
    const launchRefused = await launch();
    expect([launchRefused.status, launchRefused.headers['retry-after'], launchRefused.json.error]).toEqual([503, '5', expect.stringMatching(/^state database unavailable: /)]);
    // A failover feature needs no state: a backend takes the write.
    const dns = await http.post('/dns/', { fqdn: 'pgdown.example.test', value: '192.0.2.12', type: 'A' });
    expect(dns.status).toBe(200);
    expect((await Promise.all(sims.map((s) => s.calls()))).flat().filter((c) => c.method === 'POST' && c.path.startsWith('/dns'))).toHaveLength(1);

    pg.start();
    // The store connects and migrates by itself; the first writes may still meet the gate.
    await waitFor(async () => (await http!.post('/tftp/PXELinux/00:16:3e:00:0c:02', { pxeconfig: 'after\n' })).status === 200, 'a replicated write accepted', 30_000);
    for (const s of sims) expect((await s.state()).tftp['pxelinux.cfg/01-00-16-3e-00-0c-02']).toBe('after\n');
    expect((await daemon.store.ledger('tftp')).map((e) => e.key)).toEqual([expect.stringContaining('00:16:3e:00:0c:02')]);
    expect(messages()).toContainEqual(expect.stringMatching(/^state database reachable: schema version \d+ \(migrated from 0\)/));

    host = new TestHost(job.host, await world.host(job.host));
    await host.connect(broker.tlsUrl!);
    await waitFor(async () => (await launch()).status === 200, 'a launch accepted', 20_000);
    await waitFor(() => foreman.results.has(`ft-${job.taskId}`), 'the job’s result at Foreman', 30_000);
    expect(foreman.results.get(`ft-${job.taskId}`)).toMatchObject({ exit_status: 0, result: [{ output_type: 'stdout', output: 'after\n' }] });
  }, 120_000);
});
