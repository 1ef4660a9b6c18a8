// OpenSCAP reports: a host uploads with its own certificate; proxy-proxy keeps the report in its
// state store and posts it to Foreman once, as smart_proxy_openscap does, also across a restart;
// Foreman reads and deletes the stored report (docs/plugin-protocols.md §3).
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request, Agent } from 'undici';
import { createPki, type IssuedCert, type Pki } from '../support/pki.js';
import { startFakeForeman } from '../support/fake-foreman.js';
import { startPluginHarness, waitFor, type PluginHarness } from './plugin-harness.js';

const HOST = 'host1.example.test';

function arf(results: Record<string, string>): Buffer {
  const rules = Object.keys(results)
    .map(
      (id) => `<xccdf:Rule id="${id}" severity="high"><xccdf:title>Title of ${id}</xccdf:title>
        <xccdf:description>Why <html:code xmlns:html="http://www.w3.org/1999/xhtml">${id}</html:code> matters</xccdf:description>
        <xccdf:rationale>Because</xccdf:rationale><xccdf:reference href="https://example.test/ref">REF-1</xccdf:reference>
        <xccdf:fix id="fix-${id}" system="urn:xccdf:fix:script:sh" reboot="false">echo fix</xccdf:fix></xccdf:Rule>`,
    )
    .join('');
  const ruleResults = Object.entries(results)
    .map(([id, r]) => `<xccdf:rule-result idref="${id}" severity="high"><xccdf:result>${r}</xccdf:result></xccdf:rule-result>`)
    .join('');
  const xml = `<?xml version="1.0" encoding="UTF-8"?>
<arf:asset-report-collection xmlns:arf="http://scap.nist.gov/schema/asset-reporting-format/1.1" xmlns:ds="http://scap.nist.gov/schema/scap/source/1.2" xmlns:xccdf="http://checklists.nist.gov/xccdf/1.2">
<arf:report-requests><arf:report-request id="r1"><arf:content><ds:data-stream-collection><ds:component id="c1">
<xccdf:Benchmark id="xccdf_test_benchmark"><xccdf:Group id="g1">${rules}</xccdf:Group></xccdf:Benchmark>
</ds:component></ds:data-stream-collection></arf:content></arf:report-request></arf:report-requests>
<arf:reports><arf:report id="x"><arf:content><xccdf:TestResult id="tr1">${ruleResults}<xccdf:score system="urn:xccdf:scoring:default" maximum="100">66.5</xccdf:score></xccdf:TestResult></arf:content></arf:report></arf:reports>
</arf:asset-report-collection>`;
  return execFileSync('bzip2', ['-c'], { input: Buffer.from(xml) });
}

let pki: Pki;
let host: IssuedCert;
let h: PluginHarness;
let agent: Agent;

async function upload(body: Buffer, cert: IssuedCert | null = host) {
  const dispatcher = cert
    ? new Agent({ connect: { ca: readFileSync(pki.caCert), cert: readFileSync(cert.cert), key: readFileSync(cert.key) } })
    : new Agent({ connect: { ca: readFileSync(pki.caCert) } });
  try {
    const res = await request(`${h.daemon.url('https')}/compliance/arf/5`, { method: 'POST', body, headers: { 'content-type': 'text/xml', 'content-encoding': 'x-bzip2' }, dispatcher });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await dispatcher.close();
  }
}

const arfPosts = <T extends { method: string; url: string }>(requests: T[]): T[] => requests.filter((r) => r.method === 'POST' && r.url.startsWith('/api/v2/compliance/arf_reports/'));

beforeAll(async () => {
  pki = await createPki();
  const server = await pki.issue('proxy.example.test', { server: true });
  host = await pki.issue(HOST);
  // Foreman presents its own certificate.
  const foremanCert = await pki.issue('foreman.example.test');
  agent = new Agent({ connect: { ca: readFileSync(pki.caCert), cert: readFileSync(foremanCert.cert), key: readFileSync(foremanCert.key) } });
  h = await startPluginHarness(
    [{ name: 'sim-a', args: ['--features', 'openscap'] }],
    '  openscap: {}\n',
    `https_port: 0\nssl_certificate: ${server.cert}\nssl_private_key: ${server.key}\nssl_ca_file: ${pki.caCert}\nregistered_name: proxy.example.test\nregistered_url: https://proxy.example.test:8443\n`,
  );
}, 60_000);

afterAll(async () => {
  await agent.close();
  await h.stop();
});

describe('OpenSCAP report uploads', () => {
  let stored: { id: string; date: string; digest: string; body: Buffer };

  it("Foreman receives a host's report for that host, parsed as the plugin parses it, exactly once", async () => {
    const body = arf({ rule_pass: 'pass', rule_fail: 'fail', rule_na: 'notapplicable', rule_err: 'error' });
    const answer = await upload(body);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ result: 'ok', id: '101' });
    const posts = arfPosts(h.foreman.requests);
    expect(posts).toHaveLength(1);
    const m = /^\/api\/v2\/compliance\/arf_reports\/host1\.example\.test\/5\/(\d+)$/.exec(posts[0]!.url);
    expect(m).not.toBeNull();
    const doc = JSON.parse(posts[0]!.body) as Record<string, unknown> & { logs: { source: string; title: string; description: string; fixes: unknown[]; references: unknown[] }[] };
    expect(doc.metrics).toEqual({ passed: 1, failed: 1, othered: 1 });
    expect(doc.score).toBe(66.5);
    expect(doc.openscap_proxy_name).toBe('proxy.example.test');
    expect(doc.openscap_proxy_url).toBe('https://proxy.example.test:8443');
    expect(doc.logs.map((l) => l.source)).toEqual(['rule_pass', 'rule_fail', 'rule_err']);
    expect(doc.logs[0]).toEqual({
      source: 'rule_pass',
      result: 'pass',
      title: 'Title of rule_pass',
      description: 'Why rule_pass matters',
      rationale: 'Because',
      references: [{ href: 'https://example.test/ref', title: 'REF-1' }],
      fixes: [{ id: 'fix-rule_pass', system: 'urn:xccdf:fix:script:sh', full_text: 'echo fix', reboot: 'false' }],
      severity: 'high',
    });
    // The backend never sees an upload: it would only see proxy-proxy's certificate.
    const sim = (await h.sims[0]!.state()) as unknown as { openscap: { uploads: unknown[] } };
    expect(sim.openscap.uploads).toEqual([]);
    stored = { id: '101', date: m![1]!, digest: doc.digest as string, body };
  });

  it('Foreman reads the stored report as bzip2 XML and as HTML, and deletes it', async () => {
    const base = `${h.daemon.url('https')}/compliance/arf/${stored.id}/${HOST}/${stored.date}/${stored.digest}`;
    const xml = await request(`${base}/xml`, { dispatcher: agent });
    expect(xml.statusCode).toBe(200);
    expect(xml.headers['content-type']).toBe('application/x-bzip2');
    expect(Buffer.from(await xml.body.arrayBuffer()).equals(stored.body)).toBe(true);
    const html = await request(`${base}/html`, { dispatcher: agent });
    expect(html.statusCode).toBe(200);
    expect(await html.body.text()).toContain('Title of rule_fail');
    const del = await request(base, { method: 'DELETE', dispatcher: agent });
    expect(JSON.parse(await del.body.text())).toEqual({ id: '101', deleted: true });
    const gone = await request(`${base}/xml`, { dispatcher: agent, headers: { accept: 'text/plain' } });
    expect(gone.statusCode).toBe(500);
    expect(await gone.body.text()).toMatch(/^Could not find requested file/);
  });

  it('an upload without a client certificate is refused', async () => {
    const answer = await upload(arf({ r: 'pass' }), null);
    expect([answer.status, answer.body]).toEqual([403, 'Client authentication failed: Client certificate required!']);
  });

  it('a report taken while Foreman is down reaches Foreman once, after a proxy-proxy restart', async () => {
    const port = Number(new URL(h.foreman.url).port);
    const before = arfPosts(h.foreman.requests).length;
    await h.foreman.close();
    const answer = await upload(arf({ later: 'fail' }));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ result: expect.stringMatching(/stored in the spool of proxy-proxy/) });
    expect((await h.daemon.pluginStore.countArfReports()).queued).toBe(1);
    await h.restart();
    const foreman = await startFakeForeman(port);
    try {
      await waitFor('the spooled report at Foreman', async () => {
        h.daemon.openscap!.kick();
        return arfPosts(foreman.requests).length > 0 ? true : undefined;
      }, 20_000);
      expect(arfPosts(foreman.requests)).toHaveLength(1);
      expect(arfPosts(foreman.requests)[0]!.url).toMatch(/^\/api\/v2\/compliance\/arf_reports\/host1\.example\.test\/5\/\d+$/);
      // Sent is final: further scans post nothing.
      await waitFor('the report marked sent', async () => {
        const counts = await h.daemon.pluginStore.countArfReports();
        return counts.queued === 0 && counts.sending === 0 ? counts : undefined;
      });
      expect(await h.daemon.pluginStore.countArfReports()).toEqual({ queued: 0, sending: 0, sent: 1, rejected: 0, unknown: 0 });
      h.daemon.openscap!.kick();
      await new Promise((r) => setImmediate(r));
      expect(arfPosts(foreman.requests)).toHaveLength(1);
      expect(before).toBe(1);
    } finally {
      await foreman.close();
    }
  }, 60_000);
});
