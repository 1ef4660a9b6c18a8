// /metrics in Prometheus text format and the status page, behind the runtime API allow-list.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startHarness, type Harness } from '../support/daemon-harness.js';

describe('metrics and status page', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ backends: 2, features: '\n  tftp: { policy: replicate }\n  dns: {}\n' });
  });
  afterAll(() => h.stop());

  it('counts requests, backend calls and states', async () => {
    expect((await h.http.post('/tftp/PXELinux/00:11:22:33:44:55', { pxeconfig: 'm\n' })).status).toBe(200);
    expect((await h.http.post('/dns/', { fqdn: 'bad', value: '192.0.2.300', type: 'A' })).status).toBe(400);
    const r = await h.http.get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain/);
    const text = r.body;
    expect(text).toMatch(/proxy_proxy_requests_total\{feature="tftp",route="tftp.create",status="200"\} 1/);
    expect(text).toMatch(/proxy_proxy_requests_total\{feature="dns",route="dns.create",status="400"\} 1/);
    expect(text).toMatch(/proxy_proxy_backend_calls_total\{backend="sim-a",phase="snapshot",outcome="404"\} 1/);
    expect(text).toMatch(/proxy_proxy_backend_calls_total\{backend="sim-b",phase="send",outcome="200"\} 1/);
    expect(text).toMatch(/proxy_proxy_backend_call_duration_seconds_bucket\{le="\+Inf",backend="sim-a",phase="send"\} 1/);
    expect(text).toMatch(/proxy_proxy_backend_state\{backend="sim-a",state="up"\} 1/);
    expect(text).toMatch(/proxy_proxy_backend_state\{backend="sim-a",state="down"\} 0/);
    expect(text).toMatch(/proxy_proxy_catch_up_backlog\{feature="tftp",backend="sim-b"\} 0/);
    expect(text).toMatch(/proxy_proxy_sagas_open 0/);
    expect(text).toMatch(/proxy_proxy_sagas\{feature="tftp",status="completed"\} 1/);
    expect(text).not.toMatch(/proxy_proxy_rex_jobs\{/);
    expect(text).toMatch(/proxy_proxy_process_resident_memory_bytes \d+/);
  });

  it('serves the status page and recent traffic in the status document', async () => {
    const page = await h.http.get('/proxy_proxy/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toMatch(/<title>proxy-proxy status<\/title>/);
    expect(page.body).not.toMatch(/https?:\/\/(?!127)/); // no CDN
    expect(page.body).toContain('<svg class="strip" data-backend="sim-a"');
    // The part the page's script swaps in on refresh; nothing else is a part.
    const part = await h.http.get('/proxy_proxy/?part=main');
    expect(part.status).toBe(200);
    expect(part.body).not.toMatch(/<html|<script/);
    expect(part.body).toContain('<table id="backends">');
    const bad = await h.http.get('/proxy_proxy/?part=head');
    expect([bad.status, bad.body]).toEqual([400, 'Unknown part "head": the status page has only part=main']);
    const status = JSON.parse((await h.http.get('/proxy_proxy/status')).body);
    expect(status.traffic.tftp).toMatchObject({ requests: 1, errors: 0 });
  });
});
