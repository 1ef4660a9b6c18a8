// What a REX job's connection costs a Node.js HTTPS server that does nothing else: the floor
// under proxy-proxy's CPU per job. Hosts connect as the simulated ones do (their own certificate,
// a fresh connection per job, the fetch and the update post on it), to bench/servers/tls-floor.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { TLS_FLOOR_MAIN } from './paths.js';
import { cpuMs, spawnServer, stopChild } from './proc.js';
import { hostNames, type RexWorld } from './rex-fleet.js';

export interface TlsFloor {
  connections: number;
  /** The bare server's CPU (user + system) per connection of two requests. */
  msPerConnection: number;
}

export async function measureTlsFloor(w: RexWorld, connections: number, parallel = 8): Promise<TlsFloor> {
  const { child, port } = await spawnServer(TLS_FLOOR_MAIN, [w.world.proxy.cert, w.world.proxy.key, w.caBundle]);
  try {
    const ca = readFileSync(w.world.pki.caCert);
    const hosts = hostNames(Math.min(connections, w.hosts, 200)).map((cn) => ({
      cert: readFileSync(join(w.certDir, `${cn}.crt`)),
      key: readFileSync(join(w.certDir, `${cn}.key`)),
    }));
    const url = `https://127.0.0.1:${port}/ssh/jobs/floor`;
    const job = async (i: number) => {
      const agent = new Agent({ connect: { ca, ...hosts[i % hosts.length]!, rejectUnauthorized: true } });
      try {
        const got = await request(url, { dispatcher: agent });
        await got.body.dump();
        const posted = await request(`${url}/update`, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json' }, body: '{"version":"1","updates":[]}' });
        await posted.body.dump();
        if (got.statusCode !== 200 || posted.statusCode !== 200) throw new Error(`TLS floor server answered ${got.statusCode}, ${posted.statusCode}`);
      } finally {
        await agent.close();
      }
    };
    // A warm-up round, then the measured ones.
    for (let i = 0; i < parallel * 4; i++) await job(i);
    const cpu0 = cpuMs(child.pid!);
    let next = 0;
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (next < connections) await job(next++);
      }),
    );
    return { connections, msPerConnection: (cpuMs(child.pid!) - cpu0) / connections };
  } finally {
    await stopChild(child);
  }
}
