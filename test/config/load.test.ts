import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect(config.passive_ejection).toEqual({ consecutive_failures: 5, base_ejection_ms: 10000, max_ejection_ms: 300000 });
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
    });
    expect(config.features.dhcp.policy).toBe('failover');
    expect(config.features.dns).toMatchObject({ backends: ['b', 'a'], order: 'round_robin' });
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

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-config-'));

  it('reads a file and records where it came from', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, minimal);
    expect(loadConfig(file).source).toBe(file);
  });

  it('throws ConfigError naming the file when it cannot be read', () => {
    const file = join(dir, 'missing.yaml');
    expect(() => loadConfig(file)).toThrow(ConfigError);
    expect(() => loadConfig(file)).toThrow(/cannot read .*missing\.yaml/);
  });
});
