// Simulated smart proxies with plugin modules, a fake Foreman and proxy-proxy in-process in front
// of them, on loopback. The daemon can be stopped and started again on the same state directory.
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { startFakeForeman, type FakeForeman } from '../support/fake-foreman.js';
import { client, type Client } from '../support/http-client.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';

export interface PluginSimSpec {
  name: string;
  args: string[];
}

export interface PluginHarness {
  sims: SimProcess[];
  foreman: FakeForeman;
  daemon: Daemon;
  http: Client;
  stateDir: string;
  /** Stops the daemon and starts a new one on the same config and state directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPluginHarness(specs: PluginSimSpec[], features: string, extra = ''): Promise<PluginHarness> {
  const foreman = await startFakeForeman();
  const sims = await Promise.all(specs.map((s) => startSimProcess({ name: s.name, args: ['--foreman-url', foreman.url, ...s.args] })));
  const stateDir = mkdtempSync(join(tmpdir(), 'pp-plugins-'));
  const backends = sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n    connect_timeout_ms: 500\n    response_timeout_ms: 2000\n`).join('');
  // Slow active checks: what a test sees comes from live traffic, not from a timer.
  const yaml = `bind_host: 127.0.0.1
http_port: 0
state_dir: ${stateDir}
foreman_url: ${foreman.url}
health_check: { interval_ms: 60000, timeout_ms: 3000, rise: 1, fall: 3 }
passive_ejection: { consecutive_failures: 100, base_ejection_ms: 1000, max_ejection_ms: 1000 }
${extra}
backends:
${backends}features:
${features}`;
  const start = async () => {
    const daemon = new Daemon(parseConfig(yaml), { silent: true });
    await daemon.start();
    return { daemon, http: client(daemon.url('http')!) };
  };
  let current = await start();
  const h: PluginHarness = {
    sims,
    foreman,
    stateDir,
    get daemon() {
      return current.daemon;
    },
    get http() {
      return current.http;
    },
    async restart() {
      await current.http.close();
      await current.daemon.stop();
      current = await start();
    },
    async stop() {
      await current.http.close();
      await current.daemon.stop();
      await Promise.all(sims.map((s) => s.stop()));
      await foreman.close();
    },
  };
  return h;
}

/** Foreman's launch of a batch operation: children under the plan ids Foreman chose. */
export function batchLaunch(operation: string, hosts: string[]): { body: string; children: string[] } {
  const children = hosts.map(() => randomUUID());
  const input = Object.fromEntries(
    children.map((id, i) => [
      id,
      {
        action_class: 'Proxy::Ansible::TaskLauncher::AnsibleRunner',
        action_input: { name: hosts[i], callback: { task_id: id, step_id: 3 }, script: '---\n- hosts: all\n' },
      },
    ]),
  );
  return { body: JSON.stringify({ operation, input, options: {} }), children };
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
