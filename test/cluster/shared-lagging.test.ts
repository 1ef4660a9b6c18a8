// Two instances on one PostgreSQL database share which backends are behind the ledger. Instance A
// leaves sim-c behind with writes while it is down; B, which wrote nothing, treats sim-c as
// lagging too. When sim-c is back, one instance catches it up (the catch-up claim, held here by
// the test for a while so that the lagging window can be looked at), every key is replayed to it
// once, and both instances read from it again.
import { describe, it, expect, afterEach } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { catchUpClaim } from '../../src/converge/convergence.js';
import { CLAIM_CLASS } from '../../src/state/postgresql/advisory-locks.js';
import type { SimCall } from '../support/sim-process.js';
import { clusterYaml, getStatus, startDaemonProcess, startSims, tempDir, waitFor, waitSettled, type DaemonProcess, type ManagedSim } from '../support/converge-cluster.js';
import { freshDatabase } from '../support/postgres.js';

const CHECKS = `health_check: { interval_ms: 200, timeout_ms: 1000, rise: 1, fall: 1 }
compensation_retry: { base_ms: 100, max_ms: 500 }`;
const mac = (i: number) => `00:16:3e:00:0c:0${i}`;
const KEYS = [1, 2, 3, 4, 5];
const idOf = (c: SimCall) => String(c.headers['x-request-id'] ?? '');

describe('lagging backends are shared by the instances of a cluster', () => {
  let sims: ManagedSim[] = [];
  const daemons: DaemonProcess[] = [];
  let holder: pg.Client | undefined;
  afterEach(async () => {
    await holder?.end().catch(() => undefined);
    holder = undefined;
    for (const d of daemons.splice(0)) await d.stop();
    await Promise.all(sims.map((s) => s.stop()));
    sims = [];
  });

  it('A marks sim-c lagging, B treats it so too; one catch-up, each key replayed once, then both read from it', async () => {
    const base = tempDir('pp-lagging-');
    const url = await freshDatabase();
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const c = sims[2]!;
    // sim-c first: reads go to it whenever it may serve them (what lets the read checks fail).
    const features = '  tftp: { policy: replicate, on_backend_down: catch_up, min_success: 2, backends: [sim-c, sim-a, sim-b] }\n';
    const start = async (name: string) => {
      const file = join(base, `${name}.yaml`);
      writeFileSync(file, clusterYaml({ sims, stateDir: join(base, `state-${name}`), features, extra: `${CHECKS}\nstate: { driver: postgresql, url: "${url}" }` }));
      const d = await startDaemonProcess(file);
      daemons.push(d);
      return d;
    };
    const a = await start('a');
    const b = await start('b');
    const cState = async (d: DaemonProcess) => (await getStatus(d.http)).backends.find((x) => x.name === 'sim-c')!.state;
    const catchingUp = async (d: DaemonProcess) => (await getStatus(d.http)).features.find((f) => f.name === 'tftp')!.catching_up;

    await c.faults({ refuse: true });
    await waitFor(async () => (await cState(a)) === 'down' && (await cState(b)) === 'down', 10_000, 'sim-c never seen down by both');
    for (const i of KEYS) expect((await a.http.post(`/tftp/PXELinux/${mac(i)}`, { pxeconfig: `kernel ${i}\n` })).status).toBe(200);
    // B wrote nothing: it knows sim-c is behind from the shared mark.
    await waitFor(async () => (await catchingUp(b)).includes('sim-c'), 10_000, 'B never treated sim-c as lagging');

    // The test holds the catch-up claim: sim-c comes back, and stays behind while it is held.
    holder = new pg.Client({ connectionString: url });
    await holder.connect();
    const claim = [CLAIM_CLASS, catchUpClaim('tftp', 'sim-c')];
    expect((await holder.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', claim)).rows[0]!.ok).toBe(true);
    await c.proc.clearCalls();
    await c.faults({ refuse: false });
    await waitFor(async () => (await cState(a)) === 'up' && (await cState(b)) === 'up', 10_000, 'sim-c never seen up by both');
    for (const d of [a, b]) {
      expect(await catchingUp(d)).toEqual(['sim-c']);
      const r = await d.http.get(`/tftp/PXELinux/${mac(1)}`, { 'x-request-id': 'read-while-behind' });
      expect([r.status, r.body]).toEqual([200, 'kernel 1\n']);
    }
    expect((await c.proc.calls()).map(idOf).filter((id) => id.startsWith('catch-up-') || id === 'read-while-behind')).toEqual([]);

    await holder.query('SELECT pg_advisory_unlock($1, hashtext($2))', claim);
    await waitSettled(a.http, 30_000, 'A after the catch-up');
    await waitSettled(b.http, 30_000, 'B after the catch-up');

    // Once: one instance says it caught sim-c up, and each key reached sim-c once.
    const caughtUp = [a, b].map((d) => d.lines.filter((l) => /backend sim-c caught up on tftp/.test(l)).length);
    expect(caughtUp.reduce((x, y) => x + y)).toBe(1);
    const replays = (await c.proc.calls()).filter((x) => idOf(x).startsWith('catch-up-')).map((x) => `${x.method} ${x.path}`);
    expect(replays.sort()).toEqual(KEYS.map((i) => `POST /tftp/PXELinux/${mac(i)}`).sort());
    // Both read from sim-c again, the one that did not catch it up included.
    for (const [n, d] of [a, b].entries()) {
      const r = await d.http.get(`/tftp/PXELinux/${mac(2)}`, { 'x-request-id': `read-after-${n}` });
      expect([r.status, r.body]).toEqual([200, 'kernel 2\n']);
    }
    expect((await c.proc.calls()).map(idOf).filter((id) => id.startsWith('read-after-'))).toEqual(['read-after-0', 'read-after-1']);
    expect((await c.view()).tftp).toEqual((await sims[0]!.view()).tftp);
  }, 120_000);
});
