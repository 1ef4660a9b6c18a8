// Replays all 150 exchanges recorded from a real smart proxy against one simulator process, in
// file order (state carries over), and compares status, Content-Type, headers, body and the
// recorded side effects. Only what the recording's README calls variable is compared loosely:
// unused_ip values, lease times and log contents/timestamps.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { createPki, type Pki } from '../support/pki.js';
import { startSimProcess, type SimProcess, type SimState } from '../support/sim-process.js';
import { RECORDED_FILE } from '../support/recorded.js';

interface Exchange {
  id: string;
  note: string;
  request: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers: Record<string, string>;
    form?: Record<string, string>;
    body?: string;
    scheme?: 'https';
    client_cert?: string | null;
  };
  response: {
    status: number;
    content_type: string | null;
    headers: Record<string, string>;
    body: string;
    body_truncated?: boolean;
  };
  effects?: {
    tftproot?: 'unchanged' | { created?: Record<string, string>; changed?: Record<string, string>; removed?: string[] };
    dig?: Record<string, string[]>;
    dhcpd?: Record<string, string | null>;
    upstream_requests?: string[];
  };
}


const EXCHANGES: Exchange[] = readFileSync(RECORDED_FILE, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Exchange);

/** The recorded port of the stand-in Foreman, replaced by ours everywhere. */
const RECORDED_UPSTREAM = '127.0.0.1:18099';
const TEMPLATE_URL = 'http://127.0.0.1:18000';
/** Exchanges whose unused_ip answer is random: checked for range and freeness instead. */
const RANDOM_IP = new Set(['dhcp-unused-ip', 'dhcp-unused-ip-range', 'dhcp-unused-ip-range-mac']);
const LEASE_TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/g;
const IGNORED_HEADERS = new Set(['date', 'connection', 'keep-alive']);

/** The stand-in Foreman the README describes: one text/plain line per request. */
class StandInForeman {
  lines: string[] = [];
  port = 0;
  private server?: http.Server;

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const path = q >= 0 ? url.slice(0, q) : url;
      const query = q >= 0 ? url.slice(q + 1) : '';
      const xff = (req.headers['x-forwarded-for'] as string | undefined) ?? '';
      const line = `FAKE-FOREMAN ${req.method} ${path} query=${query} xff=${xff}`;
      req.resume();
      req.on('end', () => {
        this.lines.push(line);
        const fake = new URLSearchParams(query).get('fake_status');
        const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
        if (fake !== null) {
          if (fake === '302') headers.Location = '/redirected';
          // The recorded errors end in "<code> " : the stand-in sent no reason phrase.
          res.writeHead(Number(fake), '', headers);
        } else {
          res.writeHead(path.endsWith('/built') ? 201 : 200, headers);
        }
        res.end(line + '\n');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('simulator replays the recorded smart-proxy exchanges', () => {
  let pki: Pki;
  let sim: SimProcess;
  const upstream = new StandInForeman();
  const clientCerts = new Map<string, { cert: Buffer; key: Buffer }>();
  let ca: Buffer;
  let fromTimestamp = 0;

  beforeAll(async () => {
    pki = await createPki();
    ca = readFileSync(pki.caCert);
    const server = await pki.issue('localhost', { server: true });
    for (const cn of ['proxy-proxy.example.test', 'untrusted.example.test', 'foreman.example.test']) {
      const c = await pki.issue(cn);
      clientCerts.set(cn, { cert: readFileSync(c.cert), key: readFileSync(c.key) });
    }
    await upstream.start();
    sim = await startSimProcess({
      name: 'replay',
      args: [
        '--https-port', '0',
        '--ssl-certificate', server.cert,
        '--ssl-private-key', server.key,
        '--ssl-ca-file', pki.caCert,
        '--trusted-hosts', 'proxy-proxy.example.test,localhost',
        '--template-url', TEMPLATE_URL,
        '--foreman-url', `http://127.0.0.1:${upstream.port}`,
        '--tftp-servername', '192.0.2.1',
        '--features', 'dhcp,dns,logs,templates,tftp',
      ],
    });
  });

  afterAll(async () => {
    await sim?.stop();
    await upstream.stop();
  });

  const localize = (s: string) => s.split(RECORDED_UPSTREAM).join(`127.0.0.1:${upstream.port}`);
  const expand = (s: string) => localize(s).split('<tftproot>').join(sim.tftproot);

  function send(ex: Exchange): Promise<Answer> {
    const r = ex.request;
    let query = r.query ? new URLSearchParams(Object.entries(r.query).map(([k, v]): [string, string] => [k, localize(v)])) : undefined;
    if (ex.id === 'logs-from-timestamp') query = new URLSearchParams({ from_timestamp: fromTimestamp.toFixed(6) });
    const path = r.path + (query ? '?' + query.toString() : '');
    let body: Buffer | undefined;
    if (r.form) body = Buffer.from(new URLSearchParams(Object.entries(r.form).map(([k, v]): [string, string] => [k, localize(v)])).toString());
    else if (r.body !== undefined) body = Buffer.from(r.body);
    const headers: Record<string, string> = { ...r.headers };
    if (body !== undefined) headers['Content-Length'] = String(body.length);
    const tls = r.scheme === 'https';
    const cert = r.client_cert ? clientCerts.get(r.client_cert) : undefined;
    return new Promise((resolve, reject) => {
      const options = {
        host: '127.0.0.1',
        port: tls ? sim.httpsPort : sim.port,
        method: r.method,
        path,
        headers,
        agent: false as const,
        ...(tls ? { ca, cert: cert?.cert, key: cert?.key } : {}),
      };
      const req = (tls ? https : http).request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Files and directories below the tftproot, as the recording's effects describe them. */
  function tree(state: SimState): Map<string, string> {
    const m = new Map<string, string>();
    for (const d of state.tftpDirs) m.set(d, '<directory>');
    for (const [f, c] of Object.entries(state.tftp)) m.set(f, c);
    return m;
  }

  function tftpDiff(before: Map<string, string>, after: Map<string, string>) {
    const created: Record<string, string> = {};
    const changed: Record<string, string> = {};
    const removed: string[] = [];
    for (const [p, c] of after) {
      if (!before.has(p)) created[p] = c;
      else if (before.get(p) !== c) changed[p] = c;
    }
    for (const p of before.keys()) if (!after.has(p)) removed.push(p);
    return { created, changed, removed: removed.sort() };
  }

  /** Background downloads: wait until the recorded upstream requests and files are there. */
  async function settle(ex: Exchange): Promise<void> {
    const want = ex.effects?.upstream_requests?.length ?? 0;
    const files = typeof ex.effects?.tftproot === 'object' ? Object.entries(ex.effects.tftproot.created ?? {}) : [];
    for (let i = 0; i < 100; i++) {
      const state = files.length > 0 ? tree(await sim.state()) : undefined;
      const filesThere = files.every(([p, c]) => state?.get(p) === localize(c));
      if (upstream.lines.length >= want && filesThere) break;
      await sleep(50);
    }
    if (ex.request.path === '/tftp/fetch_boot_file') await sleep(150);
  }

  function checkRandomIp(ex: Exchange, answer: Answer, state: SimState, problems: string[]): void {
    let ip: unknown;
    try {
      ip = (JSON.parse(answer.body) as { ip: unknown }).ip;
    } catch {
      problems.push(`body is not JSON: ${answer.body}`);
      return;
    }
    const toInt = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    if (typeof ip !== 'string' || !/^192\.0\.2\.\d+$/.test(ip)) {
      problems.push(`unused_ip gave ${String(ip)}`);
      return;
    }
    const from = ex.request.query?.from ?? '192.0.2.1';
    const to = ex.request.query?.to ?? '192.0.2.254';
    if (toInt(ip) < toInt(from) || toInt(ip) > toInt(to)) problems.push(`unused_ip ${ip} outside ${from}..${to}`);
    const used = [...state.dhcp.reservations, ...state.dhcp.leases].map((r) => r.ip);
    if (used.includes(ip)) problems.push(`unused_ip ${ip} is in use`);
  }

  function logsInfo(body: string): unknown {
    const start = body.indexOf('{"info":') + '{"info":'.length;
    return JSON.parse(body.slice(start, body.indexOf(',"logs":[')));
  }

  const normalizeMessage = (m: string) =>
    m
      .replace(/in [\d.]+ ms/g, 'in N ms')
      .replace(/\([\d.]+ ms\)/g, '(N ms)')
      .replace(/from_timestamp=[\d.]+/g, 'from_timestamp=T');

  interface LogEntry {
    timestamp: number;
    level: string;
    message: string;
    request_id?: string;
  }

  function checkLogs(ex: Exchange, answer: Answer, problems: string[]): void {
    let actual: { info: unknown; logs: LogEntry[] };
    try {
      actual = JSON.parse(answer.body) as { info: unknown; logs: LogEntry[] };
    } catch {
      problems.push('logs body is not JSON');
      return;
    }
    if (JSON.stringify(actual.info) !== JSON.stringify(logsInfo(ex.response.body))) {
      problems.push(`info ${JSON.stringify(actual.info)} != ${JSON.stringify(logsInfo(ex.response.body))}`);
    }
    for (const rec of actual.logs) {
      const keys = Object.keys(rec).filter((k) => !['timestamp', 'level', 'message', 'request_id', 'backtrace'].includes(k));
      if (typeof rec.timestamp !== 'number' || typeof rec.message !== 'string' || keys.length > 0) {
        problems.push(`malformed log record ${JSON.stringify(rec)}`);
      }
      if (!['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'UNKNOWN'].includes(rec.level)) problems.push(`log level ${rec.level}`);
    }
    if (ex.id === 'logs-from-timestamp') {
      const expected = (JSON.parse(ex.response.body) as { logs: LogEntry[] }).logs;
      const shape = (l: LogEntry[]) => l.map((r) => `${r.level} ${normalizeMessage(r.message)} ${r.request_id ? 'id' : '-'}`);
      expect(shape(actual.logs)).toEqual(shape(expected));
      for (const rec of actual.logs) if (rec.timestamp < fromTimestamp) problems.push(`record before from_timestamp: ${rec.message}`);
    } else if (actual.logs.length === 0) {
      problems.push('the full log is empty');
    }
  }

  for (const ex of EXCHANGES) {
    it(`${ex.id}: ${ex.note}`, async () => {
      const problems: string[] = [];
      if (ex.id === 'templates-relay-upstream-down') await upstream.stop();
      if (ex.id === 'logs-marker-request') {
        await sleep(30);
        fromTimestamp = Date.now() / 1000;
        await sleep(30);
      }
      const before = tree(await sim.state());
      upstream.lines = [];

      const answer = await send(ex);
      if (ex.id === 'templates-relay-upstream-down') await upstream.start(upstream.port);
      await settle(ex);
      const state = await sim.state();

      // Status and labels.
      expect({ status: answer.status, content_type: answer.headers['content-type'] ?? null }).toEqual({
        status: ex.response.status,
        content_type: ex.response.content_type,
      });

      // Body.
      const expectedBody = expand(ex.response.body);
      if (RANDOM_IP.has(ex.id)) checkRandomIp(ex, answer, state, problems);
      else if (ex.id.startsWith('logs-') && ex.id !== 'logs-marker-request' && ex.id !== 'logs-from-timestamp-future') {
        checkLogs(ex, answer, problems);
      } else if (ex.id === 'dhcp-subnet' || ex.id === 'dhcp-get-by-mac-lease') {
        expect(answer.body.replace(LEASE_TIME, 'TIME')).toEqual(expectedBody.replace(LEASE_TIME, 'TIME'));
      } else {
        expect(answer.body).toEqual(expectedBody);
      }

      // Headers: every recorded one with its value, and nothing else.
      const recorded = Object.fromEntries(Object.entries(ex.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
      const exactLength = expectedBody === ex.response.body && !ex.response.body_truncated && !RANDOM_IP.has(ex.id) && !ex.id.startsWith('logs-');
      for (const [name, value] of Object.entries(recorded)) {
        const got = answer.headers[name];
        const want = name === 'content-length' && !exactLength ? String(Buffer.byteLength(answer.body)) : value;
        if (ex.request.method === 'HEAD' && name === 'content-length') {
          if (got !== value) problems.push(`HEAD Content-Length ${String(got)} != ${value}`);
        } else if (got !== want) problems.push(`header ${name}: ${String(got)} != ${want}`);
      }
      if (ex.request.method !== 'HEAD' && answer.headers['content-length'] !== String(Buffer.byteLength(answer.body))) {
        problems.push('Content-Length does not match the body');
      }
      for (const name of Object.keys(answer.headers)) {
        if (!(name in recorded) && !IGNORED_HEADERS.has(name)) problems.push(`extra header ${name}: ${String(answer.headers[name])}`);
      }

      // Effects.
      const fx = ex.effects ?? {};
      if (fx.tftproot !== undefined) {
        const diff = tftpDiff(before, tree(state));
        const want =
          fx.tftproot === 'unchanged'
            ? { created: {}, changed: {}, removed: [] }
            : {
                created: Object.fromEntries(Object.entries(fx.tftproot.created ?? {}).map(([k, v]) => [k, localize(v)])),
                changed: fx.tftproot.changed ?? {},
                removed: [...(fx.tftproot.removed ?? [])].sort(),
              };
        expect(diff).toEqual(want);
      }
      for (const [key, answers] of Object.entries(fx.dig ?? {})) {
        const [name, type] = key.split(' ');
        const got = state.dns
          .filter((r) => r.type === type && r.name.toLowerCase() === name.toLowerCase().replace(/\.$/, ''))
          .map((r) => r.value)
          .sort();
        if (JSON.stringify(got) !== JSON.stringify([...answers].sort())) problems.push(`dig ${key}: ${JSON.stringify(got)} != ${JSON.stringify(answers)}`);
      }
      for (const [mac, ip] of Object.entries(fx.dhcpd ?? {})) {
        const got = state.dhcp.reservations.find((r) => r.mac === mac)?.ip ?? null;
        if (got !== ip) problems.push(`dhcpd ${mac}: ${String(got)} != ${String(ip)}`);
      }
      if (fx.upstream_requests !== undefined) expect(upstream.lines).toEqual(fx.upstream_requests.map(localize));

      expect(problems).toEqual([]);
    });
  }
});
