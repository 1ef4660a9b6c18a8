import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { ALL_FEATURES } from '../../src/features/index.js';

const shipped = (name: string) => fileURLToPath(new URL(`../../config/${name}`, import.meta.url));

describe('config/demo.yaml', () => {
  const config = loadConfig(shipped('demo.yaml'));

  it('is the loopback demo in front of two simulated proxies', () => {
    expect(config.bind_host).toEqual(['127.0.0.1']);
    expect(config.http_port).toBe(8000);
    expect(config.https_port).toBeUndefined();
    expect(config.trusted_hosts).toBeUndefined();
    expect(Object.values(config.backends).map((b) => [b.name, b.url])).toEqual([
      ['sim-a', 'http://127.0.0.1:18001'],
      ['sim-b', 'http://127.0.0.1:18002'],
    ]);
    expect(config.health_check.interval_ms).toBe(1000);
  });

  it("keeps its state in the repository's git-ignored .state/ and catches up tftp", () => {
    const repo = dirname(dirname(shipped('demo.yaml')));
    expect(config.state_dir).toBe(join(repo, '.state'));
    expect(readFileSync(join(repo, '.gitignore'), 'utf8')).toMatch(/^\/?\.state\/?$/m);
    expect(config.features.tftp).toMatchObject({ on_backend_down: 'catch_up', min_success: 1 });
    expect(config.runtime_api.allow).toEqual(['127.0.0.1', '::1']);
  });

  it('offers every known feature with the expected policies, and remote execution', () => {
    expect(Object.keys(config.features).sort()).toEqual(ALL_FEATURES.map((m) => m.name).filter((n) => n !== 'ansible' && n !== 'openscap').sort());
    expect(config.rex).toMatchObject({ enabled: true, mqtt: { broker: 'embedded', embedded_bind: '127.0.0.1' } });
    expect(config.features.tftp.policy).toBe('replicate');
    expect(config.features.dhcp.policy).toBe('failover');
    expect(config.features.dns.policy).toBe('failover');
    expect(config.features.puppetca.policy).toBe('primary');
  });
});

describe('config/proxy-proxy.example.yaml', () => {
  const file = shipped('proxy-proxy.example.yaml');
  const config = loadConfig(file);

  it('validates as a production setup: HTTPS with mTLS to two backends', () => {
    expect(config.https_port).toBe(8443);
    expect(config.ssl_certificate).toMatch(/^\/etc\/foreman-proxy\//);
    expect(Object.keys(config.backends)).toEqual(['proxy1', 'proxy2']);
    for (const backend of Object.values(config.backends)) {
      expect(backend.url).toMatch(/^https:/);
      expect(backend.ssl_certificate).toBeDefined();
      expect(backend.ssl_private_key).toBeDefined();
    }
    expect(config.features.tftp.policy).toBe('replicate');
    expect(config.features.dhcp.policy).toBe('failover');
    expect(config.features.dns.policy).toBe('failover');
    expect(config.features.puppetca.policy).toBe('primary');
    expect(config.features.templates.settings.template_url).toBeDefined();
    expect(config.features.logs).toBeDefined();
  });

  it('runs the remote-execution spool on the embedded broker with TLS', () => {
    expect(config.rex).toMatchObject({ enabled: true, proxy_url: 'https://proxy.example.com:8443', mqtt: { broker: 'embedded', embedded_port: 1883 } });
    expect(config.rex.mqtt.ssl_certificate).toBe(config.ssl_certificate);
    expect(config.features.dynflow).toBeDefined();
    expect(config.features.script).toBeDefined();
  });

  it('shows the state and convergence settings, tftp catching up', () => {
    expect(config.state_dir).toBe('/var/lib/proxy-proxy');
    expect(config.drift.schedule).toBe('0 3 * * *');
    expect(config.compensation_retry).toEqual({ base_ms: 1000, max_ms: 60000 });
    expect(config.runtime_api.allow).toContain('127.0.0.1');
    expect(config.features.tftp).toMatchObject({ on_backend_down: 'catch_up', min_success: 1 });
  });

  it('mentions every top-level, nested, backend and feature key of the schema', () => {
    const text = readFileSync(file, 'utf8');
    const properties = configSchema.properties as Record<string, { properties?: object; additionalProperties?: unknown }>;
    const backendKeys = Object.keys((properties.backends.additionalProperties as { properties: object }).properties);
    const nestedKeys = ['health_check', 'passive_ejection', 'drift', 'compensation_retry', 'runtime_api'].flatMap((k) =>
      Object.keys(properties[k].properties ?? {}),
    );
    const featureKeys = ['policy', 'order', 'settings', 'on_backend_down', 'min_success'];
    const rex = properties.rex as { properties: Record<string, { properties?: Record<string, { properties?: object }> }> };
    const rexKeys = [
      ...Object.keys(rex.properties),
      ...Object.keys(rex.properties.mqtt!.properties!),
      ...Object.keys(rex.properties.callback!.properties!),
      ...Object.keys(rex.properties.callback!.properties!.retry!.properties!),
    ];
    for (const key of [...Object.keys(properties), ...backendKeys, ...nestedKeys, ...featureKeys, ...rexKeys]) {
      expect(text).toMatch(new RegExp(`^\\s*${key}:`, 'm'));
    }
  });
});
