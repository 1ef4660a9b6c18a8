// Target (a): one simulator, answering directly on a plain HTTP and an HTTPS listener with the
// recorded proxy's trusted_hosts, as the recording was made.
import { startSimProcess } from '../sim-process.js';
import { recordedSimArgs, TRUSTED_HOSTS, type ReplayEnv, type ReplayTarget } from './target.js';

export async function startSimTarget(env: ReplayEnv): Promise<ReplayTarget> {
  const server = await env.pki.issue('localhost', { server: true });
  const sim = await startSimProcess({
    name: 'replay',
    args: [
      '--https-port', '0',
      '--ssl-certificate', server.cert,
      '--ssl-private-key', server.key,
      '--ssl-ca-file', env.pki.caCert,
      '--trusted-hosts', TRUSTED_HOSTS.join(','),
      ...recordedSimArgs(env),
    ],
  });
  return {
    httpPort: sim.port,
    httpsPort: sim.httpsPort!,
    tftproot: sim.tftproot,
    sims: [sim],
    tftpSims: [sim],
    stateSim: sim,
    async stop() {
      await sim.stop();
    },
  };
}
