// A small fleet end to end, as a guard against regressions in the dispatch, fetch and callback
// paths (the benchmark proper measures 10,000 hosts). Prints what it measured.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { connectFleet, fleetNames, runFleet } from './fleet.js';
import { createWorld, startFakeForeman, startRexDaemon, type FakeForeman, type RexDaemon, type TestHost, type World } from './rex-harness.js';

const HOSTS = Number(process.env.REX_FLEET_HOSTS ?? 200);

describe(`a fleet of ${HOSTS} hosts`, () => {
  let world: World;
  let foreman: FakeForeman;
  let rex: RexDaemon;
  let hosts: TestHost[] = [];

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    rex = await startRexDaemon(world, foreman, { top: { log_level: 'WARN' } });
    hosts = await connectFleet(world, rex, fleetNames(HOSTS));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(hosts.map((h) => h.close()));
    await rex?.stop();
    await foreman?.close();
  });

  it('runs every job once and delivers every result, coalesced', async () => {
    const r = await runFleet(foreman, rex, hosts.map((h) => h.cn), 60_000);
    process.stdout.write(`rex fleet: ${JSON.stringify(r)}\n`);
    expect(r.hosts).toBe(HOSTS);
    expect(r.callbackPosts).toBeLessThan(HOSTS / 2);
    for (const h of hosts) expect(h.fetches.filter((f) => f.status === 200)).toHaveLength(1);
  }, 90_000);
});
