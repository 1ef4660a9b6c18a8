// Drift: the daemon compares what each backend holds with the desired-state ledger, reports the
// differences (runtime API, CLI) and repairs them on request; also on a cron schedule.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { checkedUp, startHarness, type Harness } from '../support/daemon-harness.js';
import { client } from '../support/http-client.js';
import { runCli } from './cli-process.js';
import type { DriftReport } from '../../src/converge/drift/drift-report.js';

const SLOW_CHECKS = '{ interval_ms: 60000, timeout_ms: 300, rise: 1, fall: 1 }';
const FEATURES = `
  tftp: { policy: replicate }
  dhcp: { policy: replicate }
`;
const NET = '192.0.2.0';
const H1 = { hostname: 'h1.example.test', name: 'h1.example.test', mac: '52:54:00:aa:00:01', ip: '192.0.2.41' };
const H2 = { hostname: 'h2.example.test', name: 'h2.example.test', mac: '52:54:00:aa:00:02', ip: '192.0.2.42', nextServer: '192.0.2.1', filename: 'pxelinux.0' };
const H3 = { hostname: 'h3.example.test', name: 'h3.example.test', mac: '52:54:00:aa:00:03', ip: '192.0.2.43' };
const EXTRA = { hostname: 'old.example.test', name: 'old.example.test', mac: '52:54:00:ee:00:01', ip: '192.0.2.99' };
const file = (mac: string) => `pxelinux.cfg/01-${mac.replace(/:/g, '-')}`;

type Row = [string, string, string, string];
const rows = (findings: DriftReport['findings']): Row[] => findings.map((f) => [f.feature, f.backend, f.key, f.kind]);

async function driftApi(h: Harness, form?: Record<string, string>): Promise<DriftReport> {
  const r = await h.http.post('/proxy_proxy/drift', form);
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as DriftReport;
}

/** Writes through the daemon: every backend holds them and the ledger knows them. */
async function writeThroughDaemon(h: Harness): Promise<void> {
  const ok = async (p: Promise<{ status: number; body: string }>) => expect((await p).status).toBe(200);
  await ok(h.http.post('/tftp/PXELinux/00:11:22:33:44:55', { pxeconfig: 'kernel a\n' }));
  await ok(h.http.post('/tftp/PXELinux/00:11:22:33:44:66', { pxeconfig: 'kernel b\n' }));
  await ok(h.http.delete('/tftp/PXELinux/00:11:22:33:44:77'));
  await ok(h.http.post('/tftp/PXELinux/create_default', { menu: 'default menu\n' }));
  for (const r of [H1, H2, H3]) await ok(h.http.post(`/dhcp/${NET}`, r));
  await ok(h.http.delete(`/dhcp/${NET}/mac/${H3.mac}`));
}

describe('drift check and repair against real simulators', () => {
  let h: Harness;
  let url: string;
  beforeAll(async () => {
    h = await startHarness({ backends: 3, healthCheck: SLOW_CHECKS, features: FEATURES });
    url = h.daemon.url('http')!;
    await checkedUp(h.daemon);
    await writeThroughDaemon(h);
  });
  afterAll(() => h.stop());

  it('right after replicated writes every backend is in step; default menus are unverifiable', async () => {
    const report = await driftApi(h);
    expect(report.findings).toEqual([]);
    expect(report.inStep).toBe(true);
    expect(report.unverifiable).toEqual([{ feature: 'tftp', key: 'default/pxelinux' }]);
    expect(report.features).toEqual([
      { feature: 'tftp', keys: 4, backends: ['sim-a', 'sim-b', 'sim-c'], skipped: [] },
      { feature: 'dhcp', keys: 3, backends: ['sim-a', 'sim-b', 'sim-c'], skipped: [] },
    ]);
    const cli = await runCli(['drift', '--url', url]);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/0 difference\(s\).*in step/);
  });

  it('finds exactly the differences made by hand on the backends', async () => {
    const [a, b, c] = h.sims.map((s) => client(s.url));
    // TFTP: a config edited, one removed, a deleted one back.
    expect((await b!.post('/tftp/PXELinux/00:11:22:33:44:55', { pxeconfig: 'hand edited\n' })).status).toBe(200);
    expect((await c!.delete('/tftp/PXELinux/00:11:22:33:44:66')).status).toBe(200);
    expect((await a!.post('/tftp/PXELinux/00:11:22:33:44:77', { pxeconfig: 'zombie\n' })).status).toBe(200);
    // DHCP: a reservation deleted, one moved to another address, a deleted one back, one never seen.
    expect((await a!.delete(`/dhcp/${NET}/mac/${H1.mac}`)).status).toBe(200);
    expect((await b!.delete(`/dhcp/${NET}/mac/${H2.mac}`)).status).toBe(200);
    expect((await b!.post(`/dhcp/${NET}`, { ...H2, ip: '192.0.2.52' })).status).toBe(200);
    expect((await c!.post(`/dhcp/${NET}`, H3)).status).toBe(200);
    expect((await c!.post(`/dhcp/${NET}`, EXTRA)).status).toBe(200);
    for (const x of [a, b, c]) await x!.close();

    const report = await driftApi(h);
    expect(rows(report.findings)).toEqual([
      ['dhcp', 'sim-a', `${NET}/${H1.mac}`, 'missing'],
      ['dhcp', 'sim-b', `${NET}/${H2.mac}`, 'different'],
      ['dhcp', 'sim-c', `${NET}/${H3.mac}`, 'unexpected'],
      ['dhcp', 'sim-c', `${NET}/${EXTRA.mac}`, 'extra'],
      ['tftp', 'sim-a', 'pxelinux/00:11:22:33:44:77', 'unexpected'],
      ['tftp', 'sim-b', 'pxelinux/00:11:22:33:44:55', 'different'],
      ['tftp', 'sim-c', 'pxelinux/00:11:22:33:44:66', 'missing'],
    ]);
    const tftpDiff = report.findings.find((f) => f.kind === 'different' && f.feature === 'tftp')!;
    expect(tftpDiff).toMatchObject({ expected: '"kernel a\\n"', actual: '"hand edited\\n"' });
    expect(tftpDiff.behind).toBeUndefined();
    expect(report.findings.find((f) => f.kind === 'different' && f.feature === 'dhcp')).toMatchObject({
      expected: 'ip=192.0.2.42',
      actual: 'ip=192.0.2.52',
    });
    expect(report.inStep).toBe(false);
    expect(report.summary).toMatchObject({ differences: 7, unreadable: 0, remaining: 7 });

    // The CLI reports the same as a table, exit status 1; nothing was changed.
    const cli = await runCli(['drift', '--url', url]);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toMatch(/^tftp +sim-b +pxelinux\/00:11:22:33:44:55 +different +expected "kernel a\\n"; actual "hand edited\\n"$/m);
    expect(cli.stdout).toMatch(/sim-c +192\.0\.2\.0\/52:54:00:ee:00:01 +extra +holds ip=192\.0\.2\.99 hostname=old\.example\.test; not in the ledger/);
    expect((await h.sims[1]!.state()).tftp[file('00:11:22:33:44:55')]).toBe('hand edited\n');
  });

  it('--repair fixes every difference but keeps extras; exit status 1 while one is left', async () => {
    const cli = await runCli(['drift', '--url', url, '--repair', '--json']);
    expect(cli.code).toBe(1);
    const report = JSON.parse(cli.stdout) as DriftReport;
    // Default menus have no read API: they are written again, on every backend, and said so.
    expect(report.repairs.filter((r) => r.kind === 'unverifiable').map((r) => [r.backend, r.key, r.outcome])).toEqual(
      ['sim-a', 'sim-b', 'sim-c'].map((b) => [b, 'default/pxelinux', 'fixed']),
    );
    expect(report.summary.resent).toBe(3);
    expect(report.repairs.filter((r) => r.kind !== 'unverifiable').map((r) => [r.feature, r.backend, r.key, r.outcome])).toEqual([
      ['dhcp', 'sim-a', `${NET}/${H1.mac}`, 'fixed'],
      ['dhcp', 'sim-b', `${NET}/${H2.mac}`, 'fixed'],
      ['dhcp', 'sim-c', `${NET}/${H3.mac}`, 'fixed'],
      ['tftp', 'sim-a', 'pxelinux/00:11:22:33:44:77', 'fixed'],
      ['tftp', 'sim-b', 'pxelinux/00:11:22:33:44:55', 'fixed'],
      ['tftp', 'sim-c', 'pxelinux/00:11:22:33:44:66', 'fixed'],
    ]);
    expect(rows(report.remaining)).toEqual([['dhcp', 'sim-c', `${NET}/${EXTRA.mac}`, 'extra']]);

    const [sa, sb, sc] = await Promise.all(h.sims.map((s) => s.state()));
    expect(sb!.tftp[file('00:11:22:33:44:55')]).toBe('kernel a\n');
    expect(sc!.tftp[file('00:11:22:33:44:66')]).toBe('kernel b\n');
    expect(sa!.tftp[file('00:11:22:33:44:77')]).toBeUndefined();
    const macs = (s: typeof sa) => s!.dhcp.reservations.map((r) => r.mac).sort();
    expect(macs(sa)).toEqual([H1.mac, H2.mac]);
    expect(sb!.dhcp.reservations.find((r) => r.mac === H2.mac)).toMatchObject({ ip: H2.ip, filename: 'pxelinux.0', nextServer: '192.0.2.1' });
    expect(macs(sc)).toEqual([H1.mac, H2.mac, EXTRA.mac]);
  });

  it('--prune also deletes extras; then exit status 0', async () => {
    const cli = await runCli(['drift', '--url', url, '--prune']);
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/sim-c +192\.0\.2\.0\/52:54:00:ee:00:01 +extra +fixed/);
    expect(cli.stdout).toMatch(/1 repaired, 0 failed, 0 left, in step/);
    expect((await h.sims[2]!.state()).dhcp.reservations.map((r) => r.mac)).not.toContain(EXTRA.mac);
    expect((await runCli(['drift', '--url', url])).code).toBe(0);
  });

  it('an unreachable backend is unreadable: not drift, but not verified either (exit 3); a drained one is skipped', async () => {
    await h.sims[0]!.faults({ refuse: true });
    h.daemon.runtime.backends.get('sim-c')!.health.setOperational('drained', 'test');
    try {
      const report = await driftApi(h);
      // Per network, or once for the backend when it was ejected by the failures meanwhile.
      expect(report.findings.map((f) => [f.feature, f.backend, f.kind])).toEqual([
        ['dhcp', 'sim-a', 'unreadable'],
        ['tftp', 'sim-a', 'unreadable'],
      ]);
      expect(report.inStep).toBe(false);
      expect(report.remaining).toEqual([]);
      expect(report.notVerified.map((n) => [n.feature, n.backend])).toEqual([
        ['tftp', 'sim-a'],
        ['dhcp', 'sim-a'],
      ]);
      const cli = await runCli(['drift', '--url', url]);
      expect(cli.code).toBe(3);
      expect(cli.stdout).toMatch(/NOT verified \(tftp on sim-a: unreadable \(.+\); dhcp on sim-a: unreadable/);
      expect(report.features[0]!.skipped).toEqual([{ backend: 'sim-c', state: 'drained' }]);
    } finally {
      await h.sims[0]!.faults({ refuse: false });
      h.daemon.runtime.backends.get('sim-c')!.health.setOperational('active', 'test');
      h.daemon.runtime.backends.get('sim-a')!.health.clearEjection();
    }
  });

  it('repair=1 in the query string works too, and every run is logged', async () => {
    expect((await client(h.sims[1]!.url).delete('/tftp/PXELinux/00:11:22:33:44:55')).status).toBe(200);
    const r = await h.http.post('/proxy_proxy/drift?repair=1');
    const report = JSON.parse(r.body) as DriftReport;
    expect(report.repairs.filter((x) => x.kind !== 'unverifiable').map((x) => [x.backend, x.key, x.outcome])).toEqual([['sim-b', 'pxelinux/00:11:22:33:44:55', 'fixed']]);
    expect((await h.sims[1]!.state()).tftp[file('00:11:22:33:44:55')]).toBe('kernel a\n');
    const logs = (h.daemon.logs.query(undefined) as { logs: { message: string }[] }).logs.map((l) => l.message);
    expect(logs).toContain('drift: tftp sim-b pxelinux/00:11:22:33:44:55 missing: expected "kernel a\\n"');
    expect(logs.some((m) => /^drift check \(runtime API\): .*1 difference\(s\).*1 repaired.*in step$/.test(m))).toBe(true);
  });

  it('exit status 2 when the daemon cannot be reached', async () => {
    const cli = await runCli(['drift', '--url', 'http://127.0.0.1:9']);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/cannot reach the daemon at http:\/\/127\.0\.0\.1:9/);
    expect((await runCli(['status', '--url', 'http://127.0.0.1:9'])).code).toBe(2);
  });
});

describe('scheduled drift check', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      backends: 2,
      healthCheck: SLOW_CHECKS,
      features: FEATURES,
      // node-cron v4 takes a seconds field first: every second.
      extra: "drift: { schedule: '* * * * * *', repair: true }",
    });
    await checkedUp(h.daemon);
  });
  afterAll(() => h.stop());

  const summaries = () =>
    (h.daemon.logs.query(undefined) as { logs: { message: string }[] }).logs.filter((l) => l.message.startsWith('drift check (schedule)'));

  it('runs on its schedule, logs each difference and repairs it', async () => {
    expect((await h.http.post('/tftp/PXELinux/00:11:22:33:44:88', { pxeconfig: 'scheduled\n' })).status).toBe(200);
    expect((await client(h.sims[1]!.url).post('/tftp/PXELinux/00:11:22:33:44:88', { pxeconfig: 'edited\n' })).status).toBe(200);
    const end = Date.now() + 8000;
    while ((await h.sims[1]!.state()).tftp[file('00:11:22:33:44:88')] !== 'scheduled\n' && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await h.sims[1]!.state()).tftp[file('00:11:22:33:44:88')]).toBe('scheduled\n');
    const logs = (h.daemon.logs.query(undefined) as { logs: { message: string }[] }).logs.map((l) => l.message);
    expect(logs).toContain('drift: tftp sim-b pxelinux/00:11:22:33:44:88 different: expected "scheduled\\n"; actual "edited\\n"');
    expect(logs).toContain('drift repair: tftp sim-b pxelinux/00:11:22:33:44:88 resend fixed');
    expect(summaries().length).toBeGreaterThan(0);
  });

  it('a schedule set to null stops the runs', async () => {
    h.daemon.drift.configure({ schedule: null, repair: false });
    await new Promise((r) => setTimeout(r, 1100));
    const before = summaries().length;
    await new Promise((r) => setTimeout(r, 2100));
    expect(summaries().length).toBe(before);
  });
});
