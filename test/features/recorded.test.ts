// Every recorded exchange with the real smart proxy, replayed against the route tables: the
// bad requests SP refused on sight are refused by `validate` with the same status and text;
// everything else (including refusals that depend on backend state) passes validation; paths
// SP does not route match no route here either.
import { describe, it, expect } from '@jest/globals';
import { buildCall, exchangeSpec, findRoute, recordedExchanges, type Exchange } from './calls.js';

/** Refusals that need no backend state: validate must produce exactly these. */
const REFUSED_ON_SIGHT = new Set([
  'tftp-create-bad-mac',
  'tftp-get-bad-mac-dashes',
  'tftp-create-unknown-variant',
  'tftp-create-missing-pxeconfig',
  'tftp-create-default-missing-menu',
  'tftp-fetch-boot-file-traversal',
  'tftp-fetch-boot-file-unknown-protocol',
  'dns-create-json-body',
  'dns-create-missing-params',
  'dns-create-bad-type',
  'dns-create-bad-ip',
  'dns-delete-bad-type',
  'dns-delete-ptr-bad-name',
  'dhcp-subnet-bad-address',
  'dhcp-get-by-mac-bad',
  'dhcp-create-bad-mac',
  'dhcp-create-bad-ip',
  'dhcp-create-missing-hostname',
  'dhcp-create-json-body',
  'dhcp-delete-bad-mac',
  'accept-json-error',
  'accept-none-error',
  'accept-text-plain-error',
  'accept-browser-error',
]);

/** Answered by the daemon itself before any feature route. */
const ROOT_DOCUMENTS = new Set(['/features', '/version', '/v2/features']);

const exchanges = recordedExchanges();
const NOT_FOUND = 'Requested url was not found';

function routed(x: Exchange) {
  const spec = exchangeSpec(x);
  return { spec, found: findRoute(spec.method, spec.path) };
}

describe('recorded smart-proxy exchanges', () => {
  it('the recording is all there', () => {
    expect(exchanges).toHaveLength(150);
    for (const id of REFUSED_ON_SIGHT) expect(exchanges.some((x) => x.id === id)).toBe(true);
  });

  const refused = exchanges.filter((x) => REFUSED_ON_SIGHT.has(x.id));
  it.each(refused.map((x) => [x.id, x] as const))('%s: refused by validate as SP did', (_id, x) => {
    const { spec, found } = routed(x);
    expect(found).toBeDefined();
    const rejection = found!.route.validate?.(buildCall(spec, found!.params));
    expect(rejection).toEqual({ status: x.response.status, message: x.response.body });
  });

  const unrouted = exchanges.filter((x) => x.response.body === NOT_FOUND && !ROOT_DOCUMENTS.has(exchangeSpec(x).path));
  it.each(unrouted.map((x) => [x.id, x] as const))('%s: SP has no such route, neither do we', (_id, x) => {
    expect(routed(x).found).toBeUndefined();
  });

  const passed = exchanges.filter(
    (x) => !REFUSED_ON_SIGHT.has(x.id) && x.response.body !== NOT_FOUND && !ROOT_DOCUMENTS.has(exchangeSpec(x).path),
  );
  it.each(passed.map((x) => [x.id, x] as const))('%s: routed and let through to a backend', (_id, x) => {
    const { spec, found } = routed(x);
    expect(found).toBeDefined();
    expect(found!.route.validate?.(buildCall(spec, found!.params))).toBeUndefined();
  });

  it('every recorded 2xx on a feature route passes validation', () => {
    const ok = passed.filter((x) => x.response.status < 300);
    expect(ok.length).toBeGreaterThan(80);
  });

  it('routes each recorded request to the feature its path belongs to', () => {
    const byPrefix: Record<string, string> = {
      tftp: 'tftp',
      dns: 'dns',
      dhcp: 'dhcp',
      unattended: 'templates',
      userdata: 'templates',
      logs: 'logs',
    };
    for (const x of passed.concat(refused)) {
      const { spec, found } = routed(x);
      expect([x.id, found?.module.name]).toEqual([x.id, byPrefix[spec.path.split('/')[1]!]]);
    }
  });
});

describe('recorded answers composed locally', () => {
  const byId = new Map(exchanges.map((x) => [x.id, x]));
  const logs = { query: () => ({}) };
  const client = { address: '127.0.0.1', scheme: 'http' as const, serverName: '127.0.0.1:8000' };
  const ctx = (settings: Record<string, string>, l: { query(t: number | undefined): unknown } = logs) => ({ settings, logs: l, client, foreman: undefined });

  it('GET /tftp/serverName with tftp_servername set answers as SP did (JSON labelled text/html)', () => {
    const x = byId.get('tftp-servername')!;
    const { spec, found } = routed(x);
    const local = found!.route.local!(buildCall(spec, found!.params), ctx({ tftp_servername: '192.0.2.1' }));
    expect(local).toEqual({ status: 200, contentType: 'html', body: x.response.body });
    expect(x.response.content_type).toBe('text/html;charset=utf-8');
  });

  it('GET /unattended/templateServer with template_url set answers as SP did', () => {
    const x = byId.get('templates-template-server')!;
    const { spec, found } = routed(x);
    const local = found!.route.local!(buildCall(spec, found!.params), ctx({ template_url: 'http://127.0.0.1:18000' }));
    expect(local).toEqual({ status: 200, contentType: 'json', body: x.response.body });
    expect(x.response.content_type).toBe('application/json');
  });

  it('without the setting, serverName goes to a backend and templateServer is empty, as SP without template_url', () => {
    const tftp = routed(byId.get('tftp-servername')!);
    expect(tftp.found!.route.local!(buildCall(tftp.spec, tftp.found!.params), ctx({}))).toBeUndefined();
    const templates = routed(byId.get('templates-template-server')!);
    expect(templates.found!.route.local!(buildCall(templates.spec, templates.found!.params), ctx({}))).toEqual({
      status: 200,
      contentType: 'json',
      body: '{"templateServer":""}',
    });
  });

  it('GET /logs and /logs/ are both the log buffer, with from_timestamp as a float', () => {
    const seen: (number | undefined)[] = [];
    const withLogs = ctx({}, { query: (t: number | undefined) => (seen.push(t), { logs: [] }) });
    for (const id of ['logs-all', 'logs-no-trailing-slash', 'logs-from-timestamp']) {
      const { spec, found } = routed(byId.get(id)!);
      expect(found!.route.local!(buildCall(spec, found!.params), withLogs)).toEqual({ status: 200, contentType: 'json', body: '{"logs":[]}' });
    }
    expect(seen).toEqual([undefined, undefined, 1795344679.851812]);
  });
});
