// Two instances on one PostgreSQL database, both in front of the same backends: writes to one
// key sent through both at once are serialized (advisory lock on the key), so every backend ends
// holding the same value, and it is the one the shared ledger says is current.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { startHarness, type Harness } from '../support/daemon-harness.js';
import { client, type Client } from '../support/http-client.js';
import { freshDatabase } from '../support/postgres.js';

const SLOW_CHECKS = '{ interval_ms: 60000, timeout_ms: 300, rise: 1, fall: 1 }';
const FEATURES = `
  tftp: { policy: replicate, on_backend_down: refuse }
`;

describe('two instances, one key', () => {
  let a: Harness;
  let b: Daemon;
  let bHttp: Client;
  beforeAll(async () => {
    const url = await freshDatabase();
    const state = `state: { driver: postgresql, url: "${url}", pool_size: 8 }`;
    a = await startHarness({ backends: 3, healthCheck: SLOW_CHECKS, extra: state, features: FEATURES });
    // The second instance: same backends, same database, its own listener.
    const backends = a.sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('');
    const yaml = `bind_host: 127.0.0.1\nhttp_port: 0\nstate_dir: ${a.daemon.config.state_dir}-b\n${state}\nhealth_check: ${SLOW_CHECKS}\nbackends:\n${backends}features:${FEATURES}`;
    b = new Daemon(parseConfig(yaml), { silent: true });
    await b.start();
    bHttp = client(b.url('http')!);
  }, 60_000);
  afterAll(async () => {
    await bHttp?.close();
    await b?.stop();
    await a?.stop();
  });

  it('concurrent writes of one MAC through both instances leave every backend with the value the ledger holds', async () => {
    const mac = '00:16:3e:00:0a:01';
    const file = 'pxelinux.cfg/01-00-16-3e-00-0a-01';
    for (let round = 0; round < 5; round++) {
      const writes = Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? bHttp : a.http).post(`/tftp/PXELinux/${mac}`, { pxeconfig: `round ${round} write ${i}\n` }),
      );
      const answers = await Promise.all(writes);
      expect(answers.map((r) => r.status)).toEqual(answers.map(() => 200));
      const entry = (await a.daemon.store.ledger('tftp')).find((e) => e.key.endsWith(mac));
      const desired = new URLSearchParams(entry!.request.body).get('pxeconfig');
      // A backend an instance left behind is caught up from the ledger: allow that a moment
      // (bounded), then every backend must hold what the ledger says.
      let held: (string | undefined)[] = [];
      for (let i = 0; i < 40; i++) {
        held = await Promise.all(a.sims.map(async (s) => (await s.state()).tftp[file]));
        if (held.every((h) => h === desired)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(held).toEqual([desired, desired, desired]);
    }
    // Both instances see one saga log: every write completed, none left open.
    const counts = await b.store.sagaCounts();
    expect(counts).toEqual([{ feature: 'tftp', status: 'completed', count: 40 }]);
  });
});
