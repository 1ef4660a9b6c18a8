// Foreman deletes a feature that vanishes on refresh: /features, /v2/features and /version must
// not change while backends go down.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('root documents while backends are down', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backends: 2 });
    await h.daemon.runtime.catalog.refreshAll();
  });
  afterAll(() => h.stop());

  it('/features, /v2/features and /version stay the same when one and then every backend is down', async () => {
    const snap = async () => Promise.all(['/features', '/v2/features', '/version'].map(async (p) => (await h.http.get(p)).body));
    const before = await snap();
    expect(JSON.parse(before[1]!).tftp.state).toBe('running');

    await h.sims[1]!.faults({ refuse: true });
    const b = h.daemon.runtime.backends.get('sim-b')!;
    await waitFor(() => b.state === 'down', 5000);
    expect(await snap()).toEqual(before);

    await h.sims[0]!.faults({ refuse: true });
    const a = h.daemon.runtime.backends.get('sim-a')!;
    await waitFor(() => a.state === 'down', 5000);
    await h.daemon.runtime.catalog.refreshAll();
    expect(await snap()).toEqual(before);

    // And the health checks bring them back.
    await h.sims[0]!.faults({ refuse: false });
    await h.sims[1]!.faults({ refuse: false });
    await waitFor(() => a.state === 'up' && b.state === 'up', 5000);
  });
});
