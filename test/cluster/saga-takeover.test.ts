// Two instances on one PostgreSQL database. Instance A is killed (SIGKILL) with replicated writes
// open; instance B, which started while those writes were in flight, leaves them alone at its
// start (their owner was live) and settles them once A's lease has expired: no write is left
// half done, and every backend holds what the shared ledger says.
import { describe, it, expect, afterEach } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { client } from '../support/http-client.js';
import { clusterYaml, getStatus, startDaemonProcess, startSims, tempDir, waitFor, waitSettled, type DaemonProcess, type ManagedSim } from '../support/converge-cluster.js';
import { freshDatabase } from '../support/postgres.js';

const CHECKS = `health_check: { interval_ms: 200, timeout_ms: 3000, rise: 1, fall: 1 }
compensation_retry: { base_ms: 100, max_ms: 500 }`;

const mac = (i: number) => `00:16:3e:00:0b:0${i}`;
const fileOf = (i: number) => `pxelinux.cfg/01-${mac(i).replace(/:/g, '-')}`;
const KEYS = [1, 2, 3, 4, 5];
/** 1–2 written through proxy-proxy (in the ledger), 3 written on each backend directly, 4–5 absent. */
const OLD: Record<number, string | undefined> = { 1: 'old 1\n', 2: 'old 2\n', 3: 'direct 3\n' };
const NEW = (i: number) => `new ${i}\n`;
/** state.lease_ms: shorter than the 10 s default, so the take-over comes sooner. */
const LEASE_MS = 3000;

describe('an instance killed with sagas open: a survivor settles them after its lease', () => {
  let sims: ManagedSim[] = [];
  const daemons: DaemonProcess[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop();
    await Promise.all(sims.map((s) => s.stop()));
    sims = [];
  });

  it('B does not touch A’s open sagas while A lives, takes them over once A is gone; 0 half-done writes', async () => {
    const base = tempDir('pp-takeover-');
    const url = await freshDatabase();
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const features = '  tftp: { policy: replicate, on_backend_down: catch_up, min_success: 2 }\n';
    const config = (name: string) => {
      const file = join(base, `${name}.yaml`);
      const extra = `${CHECKS}\nstate: { driver: postgresql, url: "${url}", pool_size: 16, lease_ms: ${LEASE_MS}, takeover_interval_ms: 500 }`;
      writeFileSync(file, clusterYaml({ sims, stateDir: join(base, `state-${name}`), responseTimeoutMs: 60_000, features, extra }));
      return file;
    };
    const a = await startDaemonProcess(config('a'));
    daemons.push(a);
    // Every backend seen up first: a write before sim-c's first health check would leave it
    // out (catch_up) and the writes below would close without waiting for it.
    await waitFor(async () => (await getStatus(a.http)).backends.every((b) => b.state === 'up'), 10_000, 'backends never all up');
    for (const i of [1, 2]) expect((await a.http.post(`/tftp/PXELinux/${mac(i)}`, { pxeconfig: OLD[i]! })).status).toBe(200);
    for (const s of sims) expect((await client(s.url).post(`/tftp/PXELinux/${mac(3)}`, { pxeconfig: OLD[3]! })).status).toBe(200);

    const [sa, sb, sc] = sims as [ManagedSim, ManagedSim, ManagedSim];
    // sim-c never answers the writes: A's sagas stay open until A dies.
    await sc.faults({ fail_path: { method: 'POST', pattern: '^/tftp/', action: 'hang' } });
    const inFlight = KEYS.map((i) => a.http.post(`/tftp/PXELinux/${mac(i)}`, { pxeconfig: NEW(i) }).catch((e: Error) => e));
    await waitFor(
      async () => {
        const views = await Promise.all([sa.view(), sb.view()]);
        return views.every((v) => KEYS.every((i) => v.tftp[fileOf(i)] === NEW(i)));
      },
      // Generous: a CI run on a starved machine once took longer than 30 s here.
      60_000,
      async () => {
        const views = await Promise.all([sa.view(), sb.view()]);
        return `the fast backends never applied all writes: ${JSON.stringify(views.map((v) => KEYS.map((i) => v.tftp[fileOf(i)] === NEW(i))))}`;
      },
    );

    // B starts while A's writes are open: they are A's, and A is alive.
    const b = await startDaemonProcess(config('b'));
    daemons.push(b);
    await b.waitForLine(/proxy-proxy started/, 10_000);
    expect(b.lines.filter((l) => /found open after a restart|taken over/.test(l))).toEqual([]);
    expect((await getStatus(b.http)).convergence.openSagas).toBe(KEYS.length);
    // Each heartbeat row carries the configured lease.
    const rows = (JSON.parse((await b.http.get('/proxy_proxy/status')).body) as { cluster: { instances: { leaseUntil: number; lastHeartbeat: number }[] } }).cluster.instances;
    expect(rows.map((r) => r.leaseUntil - r.lastHeartbeat)).toEqual([LEASE_MS, LEASE_MS]);

    await a.kill();
    expect((await Promise.all(inFlight)).filter((r) => !(r instanceof Error))).toEqual([]);
    await sc.faults({ clear: true });

    // A's lease (state.lease_ms) runs out; B's next look takes the sagas over and settles them.
    await b.waitForLine(/left open by an instance that is gone/, 30_000);
    expect(b.lines.filter((l) => /taken over from an instance whose lease expired/.test(l))).toHaveLength(KEYS.length);
    await waitSettled(b.http, 20_000, 'after the take-over');

    const views = await Promise.all(sims.map((s) => s.view()));
    const store = await PgStateStore.open({ url, poolSize: 1 });
    try {
      const ledger = await store.ledger('tftp');
      const outcome: Record<number, string> = {};
      for (const i of KEYS) {
        const held = views.map((v) => v.tftp[fileOf(i)]);
        const kind = held[0] === NEW(i) ? 'new' : held[0] === OLD[i] ? 'old' : 'other';
        outcome[i] = held.every((h) => h === held[0]) ? kind : `MIX ${JSON.stringify(held)}`;
        // Every backend equals the ledger, where the ledger knows the key.
        const entry = ledger.find((e) => e.key.endsWith(mac(i)));
        if (entry) expect([i, held[0]]).toEqual([i, entry.op === 'put' ? new URLSearchParams(entry.request.body).get('pxeconfig') : undefined]);
        const read = await b.http.get(`/tftp/PXELinux/${mac(i)}`);
        expect([i, read.status, read.status === 200 ? read.body : undefined]).toEqual([i, held[0] === undefined ? 404 : 200, held[0]]);
      }
      expect(Object.values(outcome).filter((o) => o !== 'new' && o !== 'old')).toEqual([]);
      expect((await store.sagaCounts()).filter((c) => c.status === 'open' || c.status === 'compensating')).toEqual([]);
    } finally {
      await store.close();
    }
  }, 120_000);

  it('a write the dead instance had applied everywhere, overwritten by a later write through the survivor, does not come back in the ledger at the take-over', async () => {
    const base = tempDir('pp-takeover-');
    const url = await freshDatabase();
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const file = join(base, 'b.yaml');
    const extra = `${CHECKS}\nstate: { driver: postgresql, url: "${url}", pool_size: 8, lease_ms: ${LEASE_MS}, takeover_interval_ms: 250 }`;
    writeFileSync(file, clusterYaml({ sims, stateDir: join(base, 'state-b'), features: '  tftp: { policy: replicate, on_backend_down: catch_up, min_success: 2 }\n', extra }));
    const b = await startDaemonProcess(file);
    daemons.push(b);
    const path = `/tftp/PXELinux/${mac(9)}`;
    expect((await b.http.post(path, { pxeconfig: 'first\n' })).status).toBe(200);

    // What instance A left when it was killed: its write of "dead instance's" applied on every
    // backend, the saga still open (A died before closing it), A's lease still running.
    const ghost = await PgStateStore.open({ url, poolSize: 2 }, { instanceId: 'ghost' });
    try {
      await ghost.pool.query(`INSERT INTO instances (id, runtime_url, started_at, heartbeat_at, lease_until) VALUES ('ghost', NULL, 0, 0, (extract(epoch FROM clock_timestamp()) * 1000)::bigint + 600000)`);
      const body = new URLSearchParams({ pxeconfig: "dead instance's\n" }).toString();
      const targets = sims.map((s) => s.name);
      const id = await ghost.beginSaga({
        feature: 'tftp',
        route: 'tftp.create',
        request: { method: 'POST', path, query: '', body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'ghost-1' } },
        targets,
      });
      for (const s of sims) expect((await client(s.url).post(path, { pxeconfig: "dead instance's\n" })).status).toBe(200);
      for (const t of targets) await ghost.recordResult(id, t, { outcome: 'applied', detail: '200' });

      // Then Foreman writes the key again through B, and is told it succeeded.
      expect((await b.http.post(path, { pxeconfig: 'last\n' })).status).toBe(200);
      // A's lease runs out: B takes the saga over.
      await ghost.pool.query(`UPDATE instances SET lease_until = 0 WHERE id = 'ghost'`);
      await b.waitForLine(/left open by an instance that is gone/, 20_000);
      await waitSettled(b.http, 20_000, 'after the take-over');

      // Every backend holds the write Foreman was last told succeeded, and so does the ledger.
      const held = await Promise.all(sims.map(async (s) => (await s.view()).tftp[fileOf(9)]));
      expect(held).toEqual(['last\n', 'last\n', 'last\n']);
      const entry = (await ghost.ledger('tftp')).find((e) => e.key.endsWith(mac(9)))!;
      expect(new URLSearchParams(entry.request.body).get('pxeconfig')).toBe('last\n');
      const drift = JSON.parse((await b.http.post('/proxy_proxy/drift')).body) as { inStep: boolean; findings: unknown[] };
      expect([drift.inStep, drift.findings]).toEqual([true, []]);
    } finally {
      await ghost.close();
    }
  }, 120_000);
});
