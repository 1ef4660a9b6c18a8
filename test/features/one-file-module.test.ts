// Adding a smart-proxy module is one file and one line in src/features/index.ts: a module added
// that way (./one-file-module/widget.ts, appended to the list first thing) shows up in the
// config schema, in /features, /v2/features and /version, is routed and replicated, and is read
// back by the drift check, without any other file naming it.
import './one-file-module/add-widget.js';
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import type { DriftReport } from '../../src/converge/drift/drift-report.js';
import { Daemon } from '../../src/daemon.js';
import { client, type Client } from '../support/http-client.js';
import { startWidgetBackend, type WidgetBackend } from './one-file-module/widget-backend.js';

type SchemaNode = { description?: string; properties?: Record<string, SchemaNode>; default?: unknown };

describe('a module added the one-file way', () => {
  let backends: WidgetBackend[];
  let daemon: Daemon;
  let http: Client;

  beforeAll(async () => {
    backends = await Promise.all([startWidgetBackend(), startWidgetBackend()]);
    const yaml = `bind_host: 127.0.0.1
http_port: 0
state_dir: ${mkdtempSync(join(tmpdir(), 'pp-widget-'))}
health_check: { interval_ms: 60000, timeout_ms: 1000, rise: 1, fall: 1 }
backends:
  a: { url: '${backends[0]!.url}' }
  b: { url: '${backends[1]!.url}' }
features:
  widget: {}
  tftp: {}
`;
    daemon = new Daemon(parseConfig(yaml), { silent: true });
    await daemon.start();
    http = client(daemon.url('http')!);
  });
  afterAll(async () => {
    await http.close();
    await daemon.stop();
    await Promise.all(backends.map((b) => b.close()));
  });

  it('is in the config schema with its description, default policy and exposed settings', () => {
    const entry = (configSchema.properties.features as SchemaNode).properties!.widget!;
    expect(entry.description).toContain('Widget: a made-up module that keeps one value per key.');
    expect(entry.properties!.policy!.default).toBe('replicate');
    expect(entry.properties!.settings!.properties!.widget_url!.description).toBe('Widget URL reported to Foreman.');
    expect(parseConfig('http_port: 8000\nbackends:\n  a: { url: "http://127.0.0.1:1" }\nfeatures:\n  widget: {}\n').features.widget!.policy).toBe('replicate');
  });

  it('is advertised in /features, in plugin order in /v2/features (use_provider from its provider flag) and in /version', async () => {
    expect(JSON.parse((await http.get('/features')).body)).toEqual(['tftp', 'widget']);
    const v2 = JSON.parse((await http.get('/v2/features')).body) as Record<string, { state: string; settings: Record<string, unknown> }>;
    const names = Object.keys(v2);
    expect(names.indexOf('widget')).toBe(names.indexOf('registration') + 1);
    expect(v2.widget).toMatchObject({ state: 'running', settings: { widget_url: null } });
    // The backends do not report use_provider: the module's provider flag puts it there.
    expect(v2.widget!.settings).toHaveProperty('use_provider', null);
    expect(JSON.parse((await http.get('/version')).body).modules).toHaveProperty('widget');
  });

  it('is routed and replicated to every backend', async () => {
    expect((await http.post('/widget/w1', { value: 'one' })).status).toBe(200);
    expect(backends.map((b) => b.widgets.get('w1'))).toEqual(['one', 'one']);
  });

  it('is read back by the drift check with its own inspector', async () => {
    backends[1]!.widgets.set('w1', 'changed by hand');
    const r = await http.post('/proxy_proxy/drift');
    expect(r.status).toBe(200);
    const report = JSON.parse(r.body) as DriftReport;
    expect(report.features.map((f) => [f.feature, f.keys])).toContainEqual(['widget', 1]);
    expect(report.findings.map((f) => [f.feature, f.backend, f.key, f.kind])).toEqual([['widget', 'b', 'w1', 'different']]);
  });
});
