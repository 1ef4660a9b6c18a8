// `proxy-proxy status` and how the command line finds the daemon from its config file:
// plain HTTP on loopback, or HTTPS with the config's own certificate as client certificate.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from '../support/daemon-harness.js';
import { createPki, type IssuedCert, type Pki } from '../support/pki.js';
import { loopbackHost } from '../../src/ops/runtime-client.js';
import { formatStatus } from '../../src/ops/status-format.js';
import { runCli } from './cli-process.js';

// A generous check timeout: a loaded machine must not turn the one check into a failure.
const SLOW_CHECKS = '{ interval_ms: 60000, timeout_ms: 3000, rise: 1, fall: 1 }';

/** A config file the CLI reads to find the daemon (the daemon itself runs from its own). */
function configFile(h: Harness, listener: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'pp-cli-'));
  const path = join(dir, 'proxy-proxy.yaml');
  const backends = h.sims.map((s) => `  ${s.name}: { url: '${s.url}' }`).join('\n');
  writeFileSync(path, `${listener}\nstate_dir: ${join(dir, 'state')}\nbackends:\n${backends}\nfeatures:\n  tftp: { policy: replicate }\n`);
  return path;
}

describe('proxy-proxy status', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      backends: 3,
      healthCheck: SLOW_CHECKS,
      features: '\n  tftp: { policy: replicate, on_backend_down: catch_up, min_success: 2 }\n  dns: {}\n',
    });
  });
  afterAll(() => h.stop());

  it('prints backends, features, sagas, compensations and catch-up backlog', async () => {
    h.daemon.runtime.backends.get('sim-c')!.health.setOperational('drained', 'test');
    try {
      const cli = await runCli(['status', '--url', h.daemon.url('http')!]);
      expect(cli.code).toBe(0);
      const lines = cli.stdout.split('\n');
      expect(lines).toContain(`listening: ${h.daemon.url('http')}`);
      expect(lines.find((l) => l.startsWith('sim-a '))).toMatch(/^sim-a +up +- +ok \d+s ago +tftp, dns$/);
      expect(lines.find((l) => l.startsWith('sim-c '))).toMatch(/^sim-c +drained /);
      expect(lines.find((l) => l.startsWith('tftp '))).toMatch(/^tftp +replicate +sim-a, sim-b, sim-c +catch_up \(min 2\) +-$/);
      expect(lines.find((l) => l.startsWith('dns '))).toMatch(/^dns +failover +sim-a, sim-b, sim-c +- +-$/);
      expect(lines).toContain('open sagas: 0');
      expect(lines).toContain('pending compensations: 0');
      expect(lines).toContain('catch-up backlog: tftp: sim-a 0, sim-b 0, sim-c 0');
      const json = await runCli(['status', '--url', h.daemon.url('http')!, '--json']);
      expect(JSON.parse(json.stdout).backends.map((b: { state: string }) => b.state)).toEqual(['up', 'up', 'drained']);
    } finally {
      h.daemon.runtime.backends.get('sim-c')!.health.setOperational('active', 'test');
    }
  });

  it('drain, maintenance and enable from the command line: operational state of the one instance', async () => {
    const url = h.daemon.url('http')!;
    const backend = () => h.daemon.runtime.backends.get('sim-b')!.health.state;
    try {
      const drain = await runCli(['drain', 'sim-b', '--url', url]);
      expect(drain).toMatchObject({ code: 0, stderr: '' });
      expect(drain.stdout).toBe('sim-b drained (now drained); not persisted: the config file stays the truth\n');
      expect(backend()).toBe('drained');
      const maintenance = await runCli(['maintenance', 'sim-b', '--url', url, '--json']);
      expect(maintenance.code).toBe(0);
      expect(JSON.parse(maintenance.stdout)).toMatchObject({ backend: 'sim-b', state: 'maintenance' });
      expect(backend()).toBe('maintenance');
      const enable = await runCli(['enable', 'sim-b', '--url', url]);
      expect(enable.code).toBe(0);
      expect(backend()).not.toMatch(/drained|maintenance/);
      const unknown = await runCli(['drain', 'sim-x', '--url', url]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toMatch(/answered 404: Unknown backend sim-x/);
    } finally {
      h.daemon.runtime.backends.get('sim-b')!.health.setOperational('active', 'test');
    }
  });

  it('shows ejections, failed checks, pending compensations and backlogs', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const text = formatStatus(
      {
        config: '/etc/proxy-proxy/proxy-proxy.yaml',
        listeners: [{ scheme: 'https', host: '::', port: 8443 }],
        backends: [
          { name: 'b1', state: 'up', ejectedUntil: now + 4000, ejections: 2, lastCheck: { at: now - 3000, ok: true, detail: 'HTTP 200' }, features: ['tftp'] },
          { name: 'b2', state: 'down', ejectedUntil: null, ejections: 0, lastCheck: { at: now - 1000, ok: false, detail: 'ECONNREFUSED' }, features: ['tftp'] },
        ],
        features: [{ name: 'tftp', policy: 'replicate', backends: ['b1', 'b2'], on_backend_down: 'refuse', catching_up: ['b2'] }],
        convergence: {
          openSagas: 1,
          pendingCompensations: [{ id: 7, feature: 'tftp', route: 'tftp.create', attempts: 3, nextAttemptAt: now + 2000, lastError: 'b2: ECONNREFUSED' }],
          catchUpBacklog: { tftp: { b1: 0, b2: 4 } },
        },
      },
      now,
    );
    expect(text).toContain('listening: https://[::]:8443');
    expect(text).toMatch(/^b1 +up +4s more \(2 ejection\(s\)\) +ok 3s ago +tftp$/m);
    expect(text).toMatch(/^b2 +down +- +failed: ECONNREFUSED 1s ago +tftp$/m);
    expect(text).toMatch(/^tftp +replicate +b1, b2 +refuse +b2$/m);
    expect(text).toContain('open sagas: 1\npending compensations: 1\n  saga 7 tftp.create: 3 attempt(s), next in 2s; last error: b2: ECONNREFUSED\n');
    expect(text).toContain('catch-up backlog: tftp: b1 0, b2 4');
  });

  it('finds the daemon from a config file: bind * means 127.0.0.1', async () => {
    const port = new URL(h.daemon.url('http')!).port;
    const path = configFile(h, `bind_host: '*'\nhttp_port: ${port}`);
    const cli = await runCli(['status', '--config', path]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^sim-b +up /m);
    const drift = await runCli(['drift', '--config', path, '--json']);
    expect(drift.code).toBe(0);
    expect(JSON.parse(drift.stdout).inStep).toBe(true);
  });

  it('a config that cannot be read: exit status 2', async () => {
    const cli = await runCli(['drift', '--config', join(tmpdir(), 'no-such-dir', 'proxy-proxy.yaml')]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/cannot find the daemon from .*cannot read/s);
  });

  it('loopback address from bind_host', () => {
    expect(loopbackHost(['*'])).toBe('127.0.0.1');
    expect(loopbackHost(['::'])).toBe('127.0.0.1');
    expect(loopbackHost(['192.0.2.10', '::1'])).toBe('[::1]');
    expect(loopbackHost(['127.0.0.2'])).toBe('127.0.0.2');
    expect(loopbackHost(['192.0.2.10'])).toBe('192.0.2.10');
  });
});

describe('proxy-proxy status over HTTPS only', () => {
  let h: Harness;
  let pki: Pki;
  let own: IssuedCert;
  beforeAll(async () => {
    pki = await createPki();
    // No 127.0.0.1 in this certificate: the CLI trusts it because its own config names it.
    own = await pki.issue('proxy-proxy.example.test');
    h = await startHarness({
      backends: 1,
      healthCheck: SLOW_CHECKS,
      features: '\n  tftp: { policy: replicate }\n',
      extra: `https_port: 0\nssl_certificate: ${own.cert}\nssl_private_key: ${own.key}\nssl_ca_file: ${pki.caCert}`,
    });
  });
  afterAll(() => h.stop());

  const httpsConfig = (cert: IssuedCert) =>
    configFile(
      h,
      `bind_host: 127.0.0.1\nhttps_port: ${new URL(h.daemon.url('https')!).port}\nssl_certificate: ${cert.cert}\nssl_private_key: ${cert.key}\nssl_ca_file: ${pki.caCert}`,
    );

  it('uses the config certificate as client certificate and accepts the daemon by it', async () => {
    const cli = await runCli(['status', '--config', httpsConfig(own)]);
    expect(cli.stderr).toBe('');
    expect(cli.code).toBe(0);
    expect(cli.stdout).toMatch(/^sim-a +up /m);
  });

  it('a daemon presenting another certificate is not trusted for a loopback address', async () => {
    const other = await pki.issue('someone-else.example.test');
    const cli = await runCli(['status', '--config', httpsConfig(other)]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/cannot reach the daemon at https:\/\/127\.0\.0\.1:\d+: ERR_TLS_CERT_ALTNAME_INVALID/);
  });
});
