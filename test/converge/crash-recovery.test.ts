// kill -9 while replicated writes are in flight: after a restart on the same state_dir no write
// is left half done. For each key either every backend holds the new value (the saga was
// completed) or every backend holds what it held before (compensated) — never a mix.
import { describe, it, expect, afterEach } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { client } from '../support/http-client.js';
import { clusterYaml, startDaemonProcess, startSims, tempDir, waitFor, waitSettled, type DaemonProcess, type ManagedSim } from '../support/converge-cluster.js';

// Checks wait longer than the slow backend's delay: slow is not down, its writes stay in flight.
const CHECKS = `health_check: { interval_ms: 200, timeout_ms: 3000, rise: 1, fall: 1 }
compensation_retry: { base_ms: 100, max_ms: 500 }`;

const mac = (i: number) => `00:16:3e:00:03:0${i}`;
const fileOf = (i: number) => `pxelinux.cfg/01-${mac(i).replace(/:/g, '-')}`;
const KEYS = [1, 2, 3, 4, 5, 6, 7];
/** 1–3 written through proxy-proxy (in the ledger), 4 written on each backend directly, 5–7 absent. */
const OLD: Record<number, string | undefined> = { 1: 'old 1\n', 2: 'old 2\n', 3: 'old 3\n', 4: 'direct 4\n' };
const NEW = (i: number) => `new ${i}\n`;

describe('crash recovery: SIGKILL with replicated writes in flight', () => {
  let sims: ManagedSim[] = [];
  let daemon: DaemonProcess | undefined;
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
    await Promise.all(sims.map((s) => s.stop()));
    sims = [];
  });

  async function scenario(slowFault: Record<string, unknown>): Promise<void> {
    const base = tempDir('pp-crash-');
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const file = join(base, 'proxy-proxy.yaml');
    const f = '{ policy: replicate, on_backend_down: catch_up, min_success: 2 }';
    writeFileSync(file, clusterYaml({ sims, stateDir: join(base, 'state'), responseTimeoutMs: 10_000, features: `  tftp: ${f}\n`, extra: CHECKS }));
    daemon = await startDaemonProcess(file);
    for (const i of [1, 2, 3]) expect((await daemon.http.post(`/tftp/PXELinux/${mac(i)}`, { pxeconfig: OLD[i]! })).status).toBe(200);
    for (const s of sims) expect((await client(s.url).post(`/tftp/PXELinux/${mac(4)}`, { pxeconfig: OLD[4]! })).status).toBe(200);

    const [a, b, c] = sims as [ManagedSim, ManagedSim, ManagedSim];
    await c.faults(slowFault);
    // Fire the writes without waiting: the daemon dies before it can answer them.
    const inFlight = KEYS.map((i) => daemon!.http.post(`/tftp/PXELinux/${mac(i)}`, { pxeconfig: NEW(i) }).catch((e: Error) => e));
    // Kill once the fast backends applied every write: sim-c has not answered any of them yet.
    await waitFor(
      async () => {
        const views = await Promise.all([a.view(), b.view()]);
        return views.every((v) => KEYS.every((i) => v.tftp[fileOf(i)] === NEW(i)));
      },
      8000,
      'the fast backends never applied all writes',
    );
    await daemon.kill();
    const answered = (await Promise.all(inFlight)).filter((r) => !(r instanceof Error));
    expect(answered).toEqual([]);
    await c.faults({ clear: true });

    daemon = await startDaemonProcess(file);
    await waitSettled(daemon.http, 15_000, 'after the restart');
    // The restart found the interrupted sagas: this run did crash mid-write.
    const found = daemon.lines.filter((l) => /found open after a restart/.test(l));
    expect(found.length).toBeGreaterThan(0);

    const views = await Promise.all(sims.map((s) => s.view()));
    const outcome: Record<number, string> = {};
    for (const i of KEYS) {
      const held = views.map((v) => v.tftp[fileOf(i)]);
      const same = held.every((h) => h === held[0]);
      const kind = held[0] === NEW(i) ? 'new' : held[0] === OLD[i] ? 'old' : 'other';
      outcome[i] = same ? kind : `MIX ${JSON.stringify(held)}`;
      // What proxy-proxy reads back agrees with the backends.
      const read = await daemon.http.get(`/tftp/PXELinux/${mac(i)}`);
      expect([i, read.status, read.status === 200 ? read.body : undefined]).toEqual([i, held[0] === undefined ? 404 : 200, held[0]]);
    }
    expect(Object.values(outcome).filter((o) => o !== 'new' && o !== 'old')).toEqual([]);
  }

  it('slow backend (answers held 1.5 s, writes applied): every key all-new or all-old', async () => {
    await scenario({ delay_ms: 1500 });
  });

  it('backend that never answers its writes (not applied there): every key all-new or all-old', async () => {
    await scenario({ fail_path: { method: 'POST', pattern: '^/tftp/', action: 'hang' } });
  });
});
