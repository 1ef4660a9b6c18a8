// Runtime operations on a cluster: two instances whose heartbeat rows share one PostgreSQL
// database. drain / maintenance / enable asked of one instance (runtime API or command line)
// reach every live instance; status lists every instance; a gone instance is left out, one that
// died before its lease ran out is reported as not reached.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { InstanceRegistry } from '../../src/state/postgresql/instances.js';
import { freshDatabase } from '../support/postgres.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';
import { freePort } from '../support/mosquitto.js';
import { client } from '../support/http-client.js';
import { runCli } from '../converge/cli-process.js';

const SLOW_CHECKS = '{ interval_ms: 60000, timeout_ms: 2000, rise: 1, fall: 3 }';

describe('runtime operations on every instance of a cluster', () => {
  let sims: SimProcess[];
  let pools: pg.Pool[];
  let db: string;
  let a: Daemon;
  let b: Daemon;

  const start = async (pool: pg.Pool, id: string) => {
    const yaml = `bind_host: 127.0.0.1
http_port: 0
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-state-'))}
health_check: ${SLOW_CHECKS}
backends:
${sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('')}features:
  tftp: { policy: replicate }
  dns: {}
`;
    const d = new Daemon(parseConfig(yaml), { silent: true, cluster: new InstanceRegistry(pool, { id, heartbeatMs: 200, leaseMs: 5000 }) });
    await d.start();
    return d;
  };
  const stateOf = (d: Daemon, backend: string) => d.runtime.backends.get(backend)!.health.state;

  beforeAll(async () => {
    db = await freshDatabase();
    sims = await Promise.all([startSimProcess({ name: 'sim-a' }), startSimProcess({ name: 'sim-b' })]);
    pools = [new pg.Pool({ connectionString: db, max: 2 }), new pg.Pool({ connectionString: db, max: 2 }), new pg.Pool({ connectionString: db, max: 1 })];
    a = await start(pools[0]!, 'instance-a');
    b = await start(pools[1]!, 'instance-b');
  }, 60_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await Promise.all((pools ?? []).map((p) => p.end()));
    await Promise.all((sims ?? []).map((s) => s.stop()));
  });

  it('each instance registers its runtime URL; status lists every instance', async () => {
    const http = client(a.url('http')!);
    try {
      const doc = JSON.parse((await http.get('/proxy_proxy/status')).body) as { cluster: { self: string; instances: { id: string; runtimeUrl: string; live: boolean }[] } };
      expect(doc.cluster.self).toBe('instance-a');
      expect(doc.cluster.instances).toEqual([
        expect.objectContaining({ id: 'instance-a', runtimeUrl: a.url('http'), live: true }),
        expect.objectContaining({ id: 'instance-b', runtimeUrl: b.url('http'), live: true }),
      ]);
    } finally {
      await http.close();
    }
    const cli = await runCli(['status', '--url', b.url('http')!]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^INSTANCE +RUNTIME URL +LAST HEARTBEAT +LEASE$/m);
    expect(cli.stdout).toMatch(new RegExp(`^instance-a +${a.url('http')} +\\d+s ago +live, \\d+s left$`, 'm'));
    expect(cli.stdout).toMatch(new RegExp(`^instance-b \\(this one\\) +${b.url('http')} +\\d+s ago +live, \\d+s left$`, 'm'));
  });

  it('drain through the runtime API of one instance drains the backend on both; enable through the other undoes it', async () => {
    const http = client(a.url('http')!);
    try {
      const r = await http.post('/proxy_proxy/backends/sim-b/drain');
      expect(r.status).toBe(200);
      const answer = JSON.parse(r.body) as { applied_everywhere: boolean; instances: { instance: string; outcome: string; state: string }[] };
      expect(answer.applied_everywhere).toBe(true);
      expect(answer.instances).toEqual([
        expect.objectContaining({ instance: 'instance-a', outcome: 'applied', state: 'drained' }),
        expect.objectContaining({ instance: 'instance-b', outcome: 'applied', state: 'drained' }),
      ]);
      expect([stateOf(a, 'sim-b'), stateOf(b, 'sim-b')]).toEqual(['drained', 'drained']);
      // scope=instance keeps an operation where it lands (that is how it is forwarded).
      expect((await http.post('/proxy_proxy/backends/sim-a/maintenance?scope=instance')).status).toBe(200);
      expect([stateOf(a, 'sim-a'), stateOf(b, 'sim-a')]).toEqual(['maintenance', 'up']);
    } finally {
      await http.close();
    }
    const enable = await runCli(['enable', 'sim-b', '--url', b.url('http')!]);
    expect(enable.code).toBe(0);
    expect(enable.stdout).toMatch(/^sim-b enabled on all 2 instance\(s\)/);
    expect(enable.stdout).toMatch(/^  instance-a: up$/m);
    expect(enable.stdout).toMatch(/^  instance-b: up$/m);
    expect([stateOf(a, 'sim-b'), stateOf(b, 'sim-b')]).toEqual(['up', 'up']);
    const enableA = await runCli(['enable', 'sim-a', '--url', a.url('http')!]);
    expect(enableA.code).toBe(0);
    expect([stateOf(a, 'sim-a'), stateOf(b, 'sim-a')]).toEqual(['up', 'up']);
  });

  it('an instance that died before its lease ran out is reported as not reached; a stopped one is left out', async () => {
    // A third instance registers a runtime URL nobody answers on, as one killed a moment ago.
    const dead = new InstanceRegistry(pools[2]!, { id: 'instance-c', heartbeatMs: 60_000, leaseMs: 60_000 });
    await dead.join(`http://127.0.0.1:${await freePort()}`);
    const drain = await runCli(['drain', 'sim-b', '--url', a.url('http')!]);
    expect(drain.code).toBe(1);
    expect(drain.stderr).toMatch(/^sim-b drained on some instances only/);
    expect(drain.stderr).toMatch(/^  instance-b: drained$/m);
    expect(drain.stderr).toMatch(/^  instance-c: NOT APPLIED: cannot reach the daemon at http:\/\/127\.0\.0\.1:\d+/m);
    expect([stateOf(a, 'sim-b'), stateOf(b, 'sim-b')]).toEqual(['drained', 'drained']);
    // Once it has stopped cleanly (its lease given up), it is no longer asked.
    await dead.leave();
    const enable = await runCli(['enable', 'sim-b', '--url', a.url('http')!, '--json']);
    expect(enable.code).toBe(0);
    const answer = JSON.parse(enable.stdout) as { applied_everywhere: boolean; instances: { instance: string }[] };
    expect(answer.applied_everywhere).toBe(true);
    expect(answer.instances.map((i) => i.instance)).toEqual(['instance-a', 'instance-b']);
    expect([stateOf(a, 'sim-b'), stateOf(b, 'sim-b')]).toEqual(['up', 'up']);
    const status = await runCli(['status', '--url', a.url('http')!]);
    expect(status.stdout).toMatch(/^instance-c +http:\/\/127\.0\.0\.1:\d+ +\d+s ago +expired \d+s ago$/m);
  }, 60_000);
});
