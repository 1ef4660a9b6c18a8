// Starts N simulated smart proxies as their own processes and proxy-proxy in-process in front
// of them, all on loopback with free ports.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import type { NameResolver } from '../../src/http/trusted-hosts.js';
import { startSimProcess, type SimProcess } from './sim-process.js';
import { client, type Client } from './http-client.js';

export interface Harness {
  sims: SimProcess[];
  daemon: Daemon;
  http: Client;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  backends?: number;
  /** YAML for the `features:` map, indented by two spaces per level; `{B}` is replaced by the backend list. */
  features?: string;
  /** Extra top-level YAML. */
  extra?: string;
  backendExtra?: string;
  resolver?: NameResolver;
  simArgs?: string[];
  /** Active checks; slow them down to observe what live traffic alone does. */
  healthCheck?: string;
  /** Where proxy-proxy relays templates and registration; by default a port nothing listens on. */
  foremanUrl?: string;
  /** The status page's sampling interval (the daemon's default is 10 s). */
  historyIntervalMs?: number;
}

export const TEMPLATE_URL = 'http://templates.example.test:8000';
/** The discard port: connections are refused, so a relay that should not happen fails loudly. */
const NO_FOREMAN = 'http://127.0.0.1:9';

export const ALL_FEATURES_YAML = `
  tftp: { policy: replicate }
  dhcp: { policy: failover }
  dns: {}
  templates: { settings: { template_url: "${TEMPLATE_URL}" } }
  registration: {}
  puppetca: {}
  puppet: {}
  realm: {}
  bmc: {}
  httpboot: {}
  facts: {}
  logs: {}
`;

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const n = opts.backends ?? 2;
  const sims = await Promise.all(
    Array.from({ length: n }, (_, i) => startSimProcess({ name: `sim-${String.fromCharCode(97 + i)}`, args: opts.simArgs })),
  );
  const backendsYaml = sims
    .map((s) => `  ${s.name}:\n    url: ${s.url}\n    connect_timeout_ms: 500\n    response_timeout_ms: 1500\n${opts.backendExtra ?? ''}`)
    .join('');
  const stateDir = mkdtempSync(join(tmpdir(), 'pp-state-'));
  const yaml = `bind_host: 127.0.0.1
http_port: 0
state_dir: ${stateDir}
log_level: DEBUG
foreman_url: ${opts.foremanUrl ?? NO_FOREMAN}
health_check: ${opts.healthCheck ?? '{ interval_ms: 200, timeout_ms: 300, rise: 2, fall: 2 }'}
passive_ejection: { consecutive_failures: 3, base_ejection_ms: 2000, max_ejection_ms: 10000 }
${opts.extra ?? ''}
backends:
${backendsYaml}features:${opts.features ?? ALL_FEATURES_YAML}`;
  const daemon = new Daemon(parseConfig(yaml), { silent: true, resolver: opts.resolver, historyIntervalMs: opts.historyIntervalMs });
  await daemon.start();
  const http = client(daemon.url('http')!);
  return {
    sims,
    daemon,
    http,
    async stop() {
      await http.close();
      await daemon.stop();
      await Promise.all(sims.map((s) => s.stop()));
    },
  };
}

/**
 * Until every backend has passed a health check (bounded): on a busy machine the first check of a
 * fresh daemon may time out, and with slow check intervals nothing would bring the backend back
 * up for the rest of the test.
 */
export async function checkedUp(daemon: Daemon, tries = 20): Promise<void> {
  for (let i = 0; i < tries; i++) {
    const backends = [...daemon.runtime.backends.values()];
    if (backends.every((b) => b.health.state === 'up' && b.health.snapshot().lastCheck?.ok === true)) return;
    await daemon.runtime.health.checkAll();
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('backends did not pass a health check');
}
