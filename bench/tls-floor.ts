// The least a REX job's connection costs a Node.js HTTPS server that does nothing else: the
// floor under proxy-proxy's CPU per job. Each host connection is what every job needs at the
// least (yggd opens one per job): a TLS handshake with the host's own certificate and one GET,
// here answered by bench/servers/tls-floor.ts, then closed by the server (connection: close).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { TLS_FLOOR_MAIN } from './paths.js';
import { cpuMs, spawnServer, stopChild } from './proc.js';
import { hostNames, type RexWorld } from './rex-fleet.js';

export interface TlsFloor {
  connections: number;
  /** The bare server's CPU (user + system) per connection. */
  msPerConnection: number;
}

export async function measureTlsFloor(w: RexWorld, connections: number, parallel = 16): Promise<TlsFloor> {
  const { child, port } = await spawnServer(TLS_FLOOR_MAIN, [w.world.proxy.cert, w.world.proxy.key, w.caBundle]);
  try {
    const ca = readFileSync(w.world.pki.caCert);
    const hosts = hostNames(Math.min(connections, w.hosts, 200)).map((cn) => ({
      cert: readFileSync(join(w.certDir, `${cn}.crt`)),
      key: readFileSync(join(w.certDir, `${cn}.key`)),
    }));
    const job = (i: number) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca, ...hosts[i % hosts.length]! }, () => {
          socket.end('GET /ssh/jobs/floor HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
        });
        let head = '';
        socket.setEncoding('utf8').on('data', (d: string) => {
          if (head.length < 64) head += d;
        });
        socket.on('error', reject);
        socket.on('close', () => (head.startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(`TLS floor server answered: ${head.slice(0, 40)}`))));
      });
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
