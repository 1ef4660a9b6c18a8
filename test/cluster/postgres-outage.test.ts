// PostgreSQL stopped under a running daemon (state.driver: postgresql): a replicated write is
// refused with 503 and a clear text, and nothing reaches any backend unrecorded; failover
// features, which need no state, keep working; once the server is back the daemon reconnects by
// itself and writes go through again.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';
import { startCluster, type TestCluster } from '../support/postgres.js';

const SLOW_CHECKS = '{ interval_ms: 60000, timeout_ms: 300, rise: 1, fall: 1 }';

describe('PostgreSQL down under a running daemon', () => {
  let pgCluster: TestCluster;
  let h: Harness;
  beforeAll(async () => {
    pgCluster = await startCluster();
    h = await startHarness({
      backends: 2,
      healthCheck: SLOW_CHECKS,
      extra: `state: { driver: postgresql, url: "${pgCluster.url}", pool_size: 4 }`,
      features: `
  tftp: { policy: replicate, on_backend_down: refuse }
  dns: { policy: failover }
`,
    });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
    pgCluster?.destroy();
  });

  const tftpWrites = async () => {
    const calls = await Promise.all(h.sims.map((s) => s.calls()));
    return calls.flat().filter((c) => c.method === 'POST' && c.path.startsWith('/tftp/')).length;
  };

  it('refuses replicated writes with 503 while it is down, sends nothing, and resumes when it is back', async () => {
    expect((await h.http.post('/tftp/PXELinux/00:16:3e:00:09:01', { pxeconfig: 'before\n' })).status).toBe(200);
    expect(await tftpWrites()).toBe(2);

    pgCluster.stop('immediate');
    const refused = await h.http.post('/tftp/PXELinux/00:16:3e:00:09:02', { pxeconfig: 'during\n' });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatch(/^tftp write refused, nothing was written: the state store cannot record it \(/);
    // Nothing unrecorded went out.
    expect(await tftpWrites()).toBe(2);
    for (const s of h.sims) expect((await s.state()).tftp['pxelinux.cfg/01-00-16-3e-00-09-02']).toBeUndefined();
    // A failover feature needs no state: it still answers from a backend.
    expect((await h.http.get('/dns/')).status).not.toBe(503);

    pgCluster.start();
    // The pool reconnects by itself: the first write after the restart goes through (bounded retries
    // while the server finishes starting).
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await h.http.post('/tftp/PXELinux/00:16:3e:00:09:03', { pxeconfig: 'after\n' })).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 200));
    }
    expect(status).toBe(200);
    for (const s of h.sims) expect((await s.state()).tftp['pxelinux.cfg/01-00-16-3e-00-09-03']).toBe('after\n');
    expect(await h.daemon.store.ledger('tftp')).toHaveLength(2);
  });
});
