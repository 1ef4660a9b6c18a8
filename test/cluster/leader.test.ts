// Two instances on one PostgreSQL database, both with a drift schedule of every second: only the
// leader runs it, the other skips every tick. The leader is killed (SIGKILL): its connection and
// with it the leader lock go, the other takes the lead and runs the schedule from then on.
import { describe, it, expect, afterEach } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clusterYaml, startDaemonProcess, startSims, tempDir, waitFor, type DaemonProcess, type ManagedSim } from '../support/converge-cluster.js';
import { freshDatabase } from '../support/postgres.js';
import { runCli } from '../converge/cli-process.js';

const SCHEDULED = /drift check \(schedule\)/;
const SKIPPED = /drift schedule: another instance leads the cluster/;
const LEADS = /this instance leads the cluster's chores/;

interface ClusterView {
  self: string;
  leader?: string | null;
  instances: { id: string; live: boolean }[];
}

async function clusterOf(d: DaemonProcess): Promise<ClusterView> {
  const r = await d.http.get('/proxy_proxy/status');
  expect(r.status).toBe(200);
  return (JSON.parse(r.body) as { cluster: ClusterView }).cluster;
}

describe('the cluster-wide chores run on one leader', () => {
  let sims: ManagedSim[] = [];
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
    await Promise.all(sims.map((s) => s.stop()));
    sims = [];
  });

  it('only the leader runs the scheduled drift check; killed, the other takes the lead and runs it', async () => {
    const base = tempDir('pp-leader-');
    const url = await freshDatabase();
    sims = await startSims(['sim-a', 'sim-b'], base);
    const start = async (name: string) => {
      const file = join(base, `${name}.yaml`);
      const extra = `state: { driver: postgresql, url: "${url}", lease_ms: 5000 }\ndrift: { schedule: '* * * * * *', repair: false }`;
      writeFileSync(file, clusterYaml({ sims, stateDir: join(base, `state-${name}`), features: '  tftp: { policy: replicate }\n', extra }));
      const d = await startDaemonProcess(file);
      daemons.push(d);
      return d;
    };
    const a = await start('a');
    await a.waitForLine(LEADS, 20_000);
    const b = await start('b');
    const [idA, idB] = [(await clusterOf(a)).self, (await clusterOf(b)).self];

    // B's schedule ticks too, and leaves each run to A.
    await b.waitForLine(SKIPPED, 20_000);
    const fromA = a.lines.filter((l) => SCHEDULED.test(l)).length;
    await waitFor(async () => a.lines.filter((l) => SCHEDULED.test(l)).length >= fromA + 3, 30_000, 'A ran no more scheduled drift checks');
    expect(b.lines.filter((l) => SCHEDULED.test(l))).toEqual([]);
    expect(b.lines.filter((l) => LEADS.test(l))).toEqual([]);
    for (const d of [a, b]) expect((await clusterOf(d)).leader).toBe(idA);

    await a.kill();
    const from = b.lines.length;
    await b.waitForLine(LEADS, 30_000, from);
    await waitFor(async () => b.lines.filter((l) => SCHEDULED.test(l)).length >= 2, 30_000, 'B ran no scheduled drift check after taking the lead');
    const view = await clusterOf(b);
    expect([view.self, view.leader]).toEqual([idB, idB]);
    const status = await runCli(['status', '--url', b.base]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`\nleader: ${idB} (this one) (runs the drift schedule and the clean-up)\n`);
  }, 120_000);
});
