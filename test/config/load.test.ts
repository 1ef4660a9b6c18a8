import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, configFromObject, loadConfig, parseConfig } from '../../src/config/load.js';
import { yaml } from './problems-of.js';

const minimal = yaml(
  'http_port: 8000',
  'backends:',
  '  a: {url: "http://a.example.com:8000/"}',
  '  b: {url: https://b.example.com:8443}',
  'features:',
  '  tftp:',
  '  dhcp: {}',
  '  dns: {backends: [b, a], order: round_robin}',
  '  logs:',
  '  bmc: {enabled: false}',
);

describe('parseConfig on a valid file', () => {
  const config = parseConfig(minimal, 'minimal.yaml');

  it('applies the global defaults', () => {
    expect(config.source).toBe('minimal.yaml');
    expect(config.bind_host).toEqual(['*']);
    expect(config.http_port).toBe(8000);
    expect(config.https_port).toBeUndefined();
    expect(config.trusted_hosts).toBeUndefined();
    expect(config.forward_verify).toBe(true);
    expect(config.log_level).toBe('INFO');
    expect(config.max_body_bytes).toBe(1048576);
    expect(config.shutdown_timeout_ms).toBe(10000);
    expect(config.fallback_version).toBe('3.11.0');
    expect(config.health_check).toEqual({ interval_ms: 2000, timeout_ms: 1000, rise: 2, fall: 3 });
    expect(config.passive_ejection).toEqual({ consecutive_failures: 5, base_ejection_ms: 10000, max_ejection_ms: 300000, decay_after_ms: 60000 });
    expect([config.request_deadline_ms, config.snapshot_timeout_ms]).toEqual([45000, 5000]);
  });

  it('applies the defaults of the state and convergence settings', () => {
    expect(config.state_dir).toBe('/var/lib/proxy-proxy');
    expect(config.drift).toEqual({ schedule: null, repair: false });
    expect(config.compensation_retry).toEqual({ base_ms: 1000, max_ms: 60000 });
    expect(config.runtime_api).toEqual({ allow: ['127.0.0.1', '::1'] });
  });

  it('names backends, fills their timeouts and keeps only the origin of their URL', () => {
    expect(config.backends).toEqual({
      a: { name: 'a', url: 'http://a.example.com:8000', connect_timeout_ms: 2000, response_timeout_ms: 60000 },
      b: { name: 'b', url: 'https://b.example.com:8443', connect_timeout_ms: 2000, response_timeout_ms: 60000 },
    });
  });

  it('gives features their catalog policy and all backends in config order unless told otherwise', () => {
    expect(config.features.tftp).toEqual({
      name: 'tftp',
      enabled: true,
      policy: 'replicate',
      backends: ['a', 'b'],
      order: 'ordered',
      settings: {},
      on_backend_down: 'catch_up',
      min_success: 1,
    });
    expect(config.features.dhcp.policy).toBe('failover');
    expect(config.features.dns).toMatchObject({ backends: ['b', 'a'], order: 'round_robin' });
    expect(config.features.dhcp).toMatchObject({ on_backend_down: 'catch_up', min_success: 1 });
    expect(config.features.logs).toMatchObject({ backends: [], policy: 'primary', enabled: true });
  });

  it('drops disabled features', () => {
    expect(Object.keys(config.features)).toEqual(['tftp', 'dhcp', 'dns', 'logs']);
  });
});

describe('normalisation', () => {
  it('turns a single bind_host into a list and upper-cases log_level', () => {
    const config = parseConfig(yaml('bind_host: 127.0.0.1', 'http_port: 8000', 'log_level: debug', 'features: {logs: }'));
    expect(config.bind_host).toEqual(['127.0.0.1']);
    expect(config.log_level).toBe('DEBUG');
  });

  it('keeps trusted_hosts: [] (deny all) apart from unset (allow all), lower-cased', () => {
    expect(parseConfig(yaml('http_port: 1', 'trusted_hosts: []', 'features: {logs: }')).trusted_hosts).toEqual([]);
    expect(parseConfig(yaml('http_port: 1', 'trusted_hosts:', 'features: {logs: }')).trusted_hosts).toBeUndefined();
    expect(
      parseConfig(yaml('http_port: 1', 'trusted_hosts: [Foreman.Example.COM]', 'features: {logs: }')).trusted_hosts,
    ).toEqual(['foreman.example.com']);
  });

  it('needs no backends when every feature is answered locally', () => {
    expect(parseConfig(yaml('http_port: 8000', 'features:', '  logs:')).backends).toEqual({});
  });

  it('accepts exposed-setting overrides and HTTPS with its three files', () => {
    const config = parseConfig(
      yaml(
        'https_port: 8443',
        'ssl_certificate: cert.pem',
        'ssl_private_key: key.pem',
        'ssl_ca_file: ca.pem',
        'foreman_url: https://foreman.example.com',
        'backends: {a: {url: "https://a:8443", ssl_certificate: c.pem, ssl_private_key: k.pem}}',
        'features:',
        '  templates: {enabled: https, settings: {template_url: "https://vip.example.com:8443"}}',
      ),
    );
    expect(config.features.templates.settings).toEqual({ template_url: 'https://vip.example.com:8443' });
    expect(config.features.templates.enabled).toBe('https');
    expect(config.backends.a.ssl_certificate).toBe('c.pem');
  });

  it('builds the same Config from a plain object (configFromObject)', () => {
    const config = configFromObject({ http_port: 8000, backends: { a: { url: 'http://x:1' } }, features: { dns: null } });
    expect(config.features.dns).toMatchObject({ policy: 'failover', backends: ['a'] });
  });
});

describe('state and convergence settings', () => {
  const given = (...lines: string[]) => yaml('http_port: 8000', 'backends: {a: {url: "http://a:1"}, b: {url: "http://b:1"}}', ...lines);

  it('keeps what the file sets', () => {
    const config = parseConfig(
      given(
        'drift: {schedule: "*/30 * * * * *", repair: true}',
        'compensation_retry: {base_ms: 250, max_ms: 250}',
        'runtime_api: {allow: [10.0.0.0/8, "fd00::/8", "FD00::1", Admin.Example.COM, 0.0.0.0/0, "::/0"]}',
        'features:',
        '  tftp: {on_backend_down: catch_up, min_success: 2}',
        '  dhcp: {policy: replicate, backends: [b], on_backend_down: catch_up}',
      ),
    );
    expect(config.drift).toEqual({ schedule: '*/30 * * * * *', repair: true });
    expect(config.compensation_retry).toEqual({ base_ms: 250, max_ms: 250 });
    // Compared case-insensitively, as trusted_hosts.
    expect(config.runtime_api.allow).toEqual(['10.0.0.0/8', 'fd00::/8', 'fd00::1', 'admin.example.com', '0.0.0.0/0', '::/0']);
    expect(config.features.tftp).toMatchObject({ on_backend_down: 'catch_up', min_success: 2 });
    expect(config.features.dhcp).toMatchObject({ policy: 'replicate', on_backend_down: 'catch_up', min_success: 1 });
  });

  it('accepts an empty runtime_api.allow (no one) and min_success > 1 with the default catch_up', () => {
    const config = parseConfig(given('runtime_api: {allow: []}', 'features: {tftp: {min_success: 2}}'));
    expect(config.runtime_api.allow).toEqual([]);
    expect(config.features.tftp).toMatchObject({ on_backend_down: 'catch_up', min_success: 2 });
  });

  it('accepts explicit replicate-only keys on a feature made replicate, and none on others', () => {
    const config = parseConfig(given('features: {dns: {policy: replicate, on_backend_down: refuse, min_success: 1}, dhcp: }'));
    expect(config.features.dns.on_backend_down).toBe('refuse');
    expect(config.features.dhcp).toMatchObject({ policy: 'failover', on_backend_down: 'catch_up', min_success: 1 });
  });

  it('resolves a relative state_dir against the directory of the file', () => {
    const text = given('state_dir: ../state', 'features: {logs: }');
    expect(parseConfig(text, '/etc/proxy-proxy/proxy-proxy.yaml').state_dir).toBe('/etc/state');
    expect(parseConfig(text, 'conf/pp.yaml').state_dir).toBe(resolve('conf', '../state'));
    expect(parseConfig(given('state_dir: /srv/pp/', 'features: {logs: }'), 'conf/pp.yaml').state_dir).toBe('/srv/pp');
  });

  it('resolves a relative state_dir against the current directory when there is no file', () => {
    expect(parseConfig(given('state_dir: state', 'features: {logs: }')).state_dir).toBe(join(process.cwd(), 'state'));
    expect(configFromObject({ http_port: 1, state_dir: '.', features: { logs: null } }).state_dir).toBe(process.cwd());
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-config-'));

  it('reads a file and records where it came from', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, minimal);
    expect(loadConfig(file).source).toBe(file);
  });

  it('resolves a relative state_dir against the directory of the file it read', () => {
    const file = join(dir, 'relative.yaml');
    writeFileSync(file, `${minimal}state_dir: state\n`);
    expect(loadConfig(file).state_dir).toBe(join(dirname(file), 'state'));
  });

  it('throws ConfigError naming the file when it cannot be read', () => {
    const file = join(dir, 'missing.yaml');
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(/cannot read .*missing\.yaml/);
  });
});
