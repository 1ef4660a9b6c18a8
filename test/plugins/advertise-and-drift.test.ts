// Backends with unequal plugins: /features offers each plugin some backend of the feature offers,
// a capability only where every such backend has it; drift reports backends whose Ansible roles
// differ (docs/plugin-protocols.md §2).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDrift } from '../../src/converge/drift/drift-check.js';
import { startPluginHarness, waitFor, type PluginHarness } from './plugin-harness.js';

function ansibleDir(roles: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'pp-ansible-'));
  for (const role of roles) {
    mkdirSync(join(dir, 'roles', role, 'defaults'), { recursive: true });
    writeFileSync(join(dir, 'roles', role, 'defaults', 'main.yml'), `${role}_port: 80\n`);
  }
  return dir;
}

const CORE = 'facts,dns,templates,tftp,dhcp,puppetca,puppet,bmc,realm,logs,httpboot,registration';
let h: PluginHarness;

beforeAll(async () => {
  h = await startPluginHarness(
    [
      { name: 'sim-a', args: ['--features', `${CORE},dynflow,ansible`, '--ansible-dir', ansibleDir(['common', 'web']), '--capabilities', 'ansible:vcs_clone'] },
      { name: 'sim-b', args: ['--features', `${CORE},dynflow,ansible`, '--dynflow-operations', 'ansible-runner,ssh', '--ansible-dir', ansibleDir(['common'])] },
      { name: 'sim-c', args: ['--features', CORE] },
    ],
    '  dns: {}\n  dynflow: {}\n  ansible: { backends: [sim-a, sim-b] }\n  openscap: { backends: [sim-c] }\n',
  );
  await waitFor('every backend reported', async () => (h.sims.every((s) => h.daemon.runtime.catalog.report(s.name)) ? true : undefined));
}, 60_000);

afterAll(async () => {
  await h.stop();
});

describe('plugins of unequal backends', () => {
  it('/features offers a plugin some backend of the feature offers, not one none of them has', async () => {
    const features = JSON.parse((await h.http.get('/features')).body) as string[];
    expect(features).toEqual(['ansible', 'dns', 'dynflow']);
  });

  it('/v2/features advertises a capability only if every backend of the feature has it; dynflow lists every operation', async () => {
    const v2 = JSON.parse((await h.http.get('/v2/features')).body) as Record<string, { capabilities: string[]; state: string }>;
    expect(v2.ansible).toEqual({ http_enabled: true, https_enabled: false, settings: {}, state: 'running', capabilities: [] });
    expect(v2.dynflow!.capabilities).toEqual(['ansible-runner', 'single', 'ssh']);
    expect(v2.openscap).toBeUndefined();
    expect(Object.keys(v2).indexOf('ansible')).toBeLessThan(Object.keys(v2).indexOf('dynflow'));
    const ops = JSON.parse((await h.http.get('/dynflow/tasks/operations')).body) as string[];
    expect(ops.sort()).toEqual(['ansible-runner', 'single', 'ssh']);
  });

  it('answers Ansible reads from a backend', async () => {
    const roles = await h.http.get('/ansible/roles');
    expect(roles.status).toBe(200);
    expect(JSON.parse(roles.body)).toEqual(['common', 'web']);
    const vars = await h.http.get('/ansible/roles/common/variables');
    expect(JSON.parse(vars.body)).toEqual({ common: { common_port: 80 } });
  });

  it('drift reports the backend that lacks a role the other holds', async () => {
    const report = await runDrift(h.daemon);
    const ansible = report.findings.filter((f) => f.feature === 'ansible');
    expect(ansible).toEqual([{ feature: 'ansible', backend: 'sim-b', key: 'role/web', kind: 'missing', detail: 'held by sim-a' }]);
    expect(report.inStep).toBe(false);
    expect(report.features.find((f) => f.feature === 'ansible')).toEqual({ feature: 'ansible', keys: 2, backends: ['sim-a', 'sim-b'], skipped: [] });
  });
});

describe('plugins of equal backends', () => {
  it('advertise the capability every backend has', async () => {
    const both = await startPluginHarness(
      [
        { name: 'sim-a', args: ['--features', 'ansible', '--capabilities', 'ansible:vcs_clone'] },
        { name: 'sim-b', args: ['--features', 'ansible', '--capabilities', 'ansible:vcs_clone'] },
      ],
      '  ansible: {}\n',
    );
    try {
      await waitFor('every backend reported', async () => (both.sims.every((s) => both.daemon.runtime.catalog.report(s.name)) ? true : undefined));
      const v2 = JSON.parse((await both.http.get('/v2/features')).body) as Record<string, { capabilities: string[] }>;
      expect(v2.ansible!.capabilities).toEqual(['vcs_clone']);
      const report = await runDrift(both.daemon);
      expect(report.findings).toEqual([]);
    } finally {
      await both.stop();
    }
  }, 60_000);
});
