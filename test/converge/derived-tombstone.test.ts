// A DHCP delete by IP reaching a backend that is behind on the MAC it removes elsewhere: on that
// backend it deleted nothing of that MAC, so the ledger must not count the MAC's tombstone as
// applied there; catch-up then deletes the reservation it still holds. (Found by the fault
// campaign, seed 157311056.)
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';
import { client } from '../support/http-client.js';

const MAC = '52:54:00:aa:00:05';

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('tombstones derived from a delete by IP', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backends: 3, features: '\n  dhcp: { policy: replicate, on_backend_down: catch_up, min_success: 2 }\n' });
  });
  afterAll(() => h.stop());

  it('are not marked applied on a backend that was behind, which is then caught up', async () => {
    const c = h.sims[2]!;
    const reservationsOn = async (i: number) => (await client(h.sims[i]!.url).get(`/dhcp/192.0.2.0/mac/${MAC}`)).body;
    expect((await h.http.post('/dhcp/192.0.2.0', { hostname: 'h.example.test', mac: MAC, ip: '192.0.2.13' })).status).toBe(200);
    // sim-c misses a delete and a re-create of the MAC.
    await c.faults({ refuse: true });
    const backend = h.daemon.runtime.backends.get('sim-c')!;
    await until(async () => backend.state === 'down', 5000, 'sim-c seen down');
    expect((await h.http.delete(`/dhcp/192.0.2.0/mac/${MAC}`)).status).toBe(200);
    expect((await h.http.post('/dhcp/192.0.2.0', { hostname: 'h.example.test', mac: MAC, ip: '192.0.2.14' })).status).toBe(200);
    // Back, but its catch-up requests fail for now: it still holds the old reservation (.13).
    await c.faults({ refuse: false });
    await c.faults({ fail_path: { method: 'DELETE', pattern: '/mac/', status: 500, body: 'not yet' } });
    await c.faults({ fail_path: { method: 'POST', pattern: '^/dhcp/', status: 500, body: 'not yet' } });
    await until(async () => backend.health.available, 5000, 'sim-c up again');
    // The delete by IP reaches sim-c too, where .14 is unknown: a 200 that removed nothing.
    expect((await h.http.delete('/dhcp/192.0.2.0/ip/192.0.2.14')).status).toBe(200);
    expect(JSON.parse(await reservationsOn(2)).ip).toBe('192.0.2.13');
    await c.faults({ clear: true });
    await until(async () => (await client(c.url).get(`/dhcp/192.0.2.0/mac/${MAC}`)).status === 404, 8000, 'sim-c to lose the stale reservation');
    for (const i of [0, 1]) expect((await client(h.sims[i]!.url).get(`/dhcp/192.0.2.0/mac/${MAC}`)).status).toBe(404);
  });
});
