// Target (b): proxy-proxy in front of two simulators, with the recorded proxy's listeners and
// trusted_hosts. TFTP is replicated over both simulators; DNS and DHCP fail over, so the first
// simulator answers them; templates are relayed to the stand-in Foreman by proxy-proxy itself and
// /logs is proxy-proxy's own buffer.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/config/load.js';
import { Daemon } from '../../../src/daemon.js';
import { SystemResolver, type NameResolver } from '../../../src/http/trusted-hosts.js';
import { startSimProcess } from '../sim-process.js';
import { recordedSimArgs, TEMPLATE_URL, TRUSTED_HOSTS, type ReplayEnv, type ReplayTarget } from './target.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The recording's plain-HTTP client, 127.0.0.1, reverse-resolves to `localhost`, and the daemon
 * asks getnameinfo (node:dns lookupService). Where this machine names 127.0.0.1 otherwise, a
 * resolver with the recorded answer stands in for that one address.
 */
async function recordedResolver(): Promise<NameResolver | undefined> {
  const system = new SystemResolver();
  if ((await system.reverse('127.0.0.1')) === 'localhost') return undefined;
  return {
    reverse: async (ip) => (ip === '127.0.0.1' ? 'localhost' : system.reverse(ip)),
    forward: (name) => system.forward(name),
  };
}

export async function startDaemonTarget(env: ReplayEnv): Promise<ReplayTarget> {
  const server = await env.pki.issue('localhost', { server: true });
  // Plain HTTP behind the daemon: the backends' own TLS is not what this replay is about.
  const sims = await Promise.all(['sim-a', 'sim-b'].map((name) => startSimProcess({ name, args: recordedSimArgs(env) })));
  // A state of its own: the default state_dir is the machine's, and what an earlier run left
  // there (its ledger, lagging marks) would change what this run writes.
  const stateDir = mkdtempSync(join(tmpdir(), 'pp-replay-state-'));
  const yaml = `bind_host: 127.0.0.1
state_dir: ${stateDir}
http_port: 0
https_port: 0
ssl_certificate: ${server.cert}
ssl_private_key: ${server.key}
ssl_ca_file: ${env.pki.caCert}
trusted_hosts: [${TRUSTED_HOSTS.join(', ')}]
forward_verify: false
foreman_url: ${env.foremanUrl}
backends:
${sims.map((s) => `  ${s.name}: { url: ${s.url} }\n`).join('')}features:
  tftp: { policy: replicate }
  dns: { policy: failover }
  dhcp: { policy: failover }
  templates: { settings: { template_url: '${TEMPLATE_URL}' } }
  logs: {}
`;
  const daemon = new Daemon(parseConfig(yaml), { silent: true, resolver: await recordedResolver() });
  await daemon.start();
  // The root documents and the Server header carry what the backends report about themselves.
  for (let i = 0; i < 100 && !sims.every((s) => daemon.runtime.catalog.report(s.name)?.features); i++) await sleep(50);
  const port = (scheme: 'http' | 'https') => Number(new URL(daemon.url(scheme)!).port);
  return {
    httpPort: port('http'),
    httpsPort: port('https'),
    tftproot: sims[0].tftproot,
    sims,
    tftpSims: sims,
    stateSim: sims[0],
    async stop() {
      await daemon.stop();
      await Promise.all(sims.map((s) => s.stop()));
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}
