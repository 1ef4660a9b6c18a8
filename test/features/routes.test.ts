// The route tables against the route notes (docs/protocol/smart-proxy-api.md §3, "spec" below):
// every route is declared, with the read/write kind, the retry and exactly-once rules,
// authorization and trailing-slash handling the notes and the recording call for; no request can
// be claimed by two features.
import { describe, it, expect } from '@jest/globals';
import { ALL_FEATURES, featureByName } from '../../src/features/index.js';
import { compilePattern } from '../../src/features/pattern.js';
import type { HttpMethod } from '../../src/features/route.js';
import { findRoute } from './calls.js';

type Row = [feature: string, method: HttpMethod, pattern: string, kind: 'read' | 'write'];

/**
 * docs/protocol/smart-proxy-api.md §3, route by route (BMC's '/x/?:action?' routes as pairs, plus
 * two catch-alls).
 */
const SPEC: Row[] = [
  // 3.3 TFTP (fetch_system_image and system_image are the "(newer)" rows)
  ['tftp', 'POST', '/tftp/fetch_boot_file', 'write'],
  ['tftp', 'POST', '/tftp/fetch_system_image', 'write'],
  ['tftp', 'GET', '/tftp/system_image/*path', 'read'],
  ['tftp', 'POST', '/tftp/:variant/create_default', 'write'],
  ['tftp', 'GET', '/tftp/:variant/:mac', 'read'],
  ['tftp', 'POST', '/tftp/:variant/:mac', 'write'],
  ['tftp', 'DELETE', '/tftp/:variant/:mac', 'write'],
  ['tftp', 'POST', '/tftp/create_default', 'write'],
  ['tftp', 'POST', '/tftp/:mac', 'write'],
  ['tftp', 'DELETE', '/tftp/:mac', 'write'],
  ['tftp', 'GET', '/tftp/serverName', 'read'],
  // 3.1 DHCP
  ['dhcp', 'GET', '/dhcp/?', 'read'],
  ['dhcp', 'GET', '/dhcp/:network', 'read'],
  ['dhcp', 'GET', '/dhcp/:network/unused_ip', 'read'],
  ['dhcp', 'GET', '/dhcp/:network/ip/:ip', 'read'],
  ['dhcp', 'GET', '/dhcp/:network/mac/:mac', 'read'],
  ['dhcp', 'POST', '/dhcp/:network/?', 'write'],
  ['dhcp', 'DELETE', '/dhcp/:network/mac/:mac', 'write'],
  ['dhcp', 'DELETE', '/dhcp/:network/ip/:ip', 'write'],
  // 3.2 DNS
  ['dns', 'POST', '/dns/?', 'write'],
  ['dns', 'DELETE', '/dns/:value/?', 'write'],
  ['dns', 'DELETE', '/dns/:value/:type', 'write'],
  // 3.5 Templates
  ['templates', 'GET', '/unattended/templateServer', 'read'],
  ['templates', 'GET', '/unattended/:kind/:template/:hostgroup', 'read'],
  ['templates', 'GET', '/unattended/built', 'write'],
  ['templates', 'GET', '/unattended/failed', 'write'],
  ['templates', 'GET', '/unattended/:kind', 'read'],
  ['templates', 'POST', '/unattended/:kind', 'write'],
  ['templates', 'GET', '/userdata/:kind', 'read'],
  // 3.6 Registration
  ['registration', 'GET', '/register/?', 'read'],
  ['registration', 'POST', '/register/?', 'write'],
  // 3.7 Puppet CA
  ['puppetca', 'GET', '/puppet/ca/?', 'read'],
  ['puppetca', 'GET', '/puppet/ca/autosign', 'read'],
  ['puppetca', 'POST', '/puppet/ca/autosign/:certname', 'write'],
  ['puppetca', 'POST', '/puppet/ca/validate', 'write'],
  ['puppetca', 'DELETE', '/puppet/ca/autosign/:certname', 'write'],
  ['puppetca', 'POST', '/puppet/ca/:certname', 'write'],
  ['puppetca', 'DELETE', '/puppet/ca/:certname', 'write'],
  // 3.8 Puppet
  ['puppet', 'GET', '/puppet/environments', 'read'],
  ['puppet', 'GET', '/puppet/environments/:environment', 'read'],
  ['puppet', 'GET', '/puppet/environments/:environment/classes', 'read'],
  ['puppet', 'GET', '/puppet/environments/:environment/classes_and_errors', 'read'],
  ['puppet', 'POST', '/puppet/run', 'write'],
  // 3.9 Realm
  ['realm', 'POST', '/realm/:realm/?', 'write'],
  ['realm', 'DELETE', '/realm/:realm/:hostname/?', 'write'],
  // 3.10 BMC
  ['bmc', 'GET', '/bmc/?', 'read'],
  ['bmc', 'GET', '/bmc/providers', 'read'],
  ['bmc', 'GET', '/bmc/providers/installed', 'read'],
  ['bmc', 'GET', '/bmc/host', 'read'],
  ['bmc', 'GET', '/bmc/:host', 'read'],
  ['bmc', 'GET', '/bmc/:host/test', 'read'],
  ['bmc', 'GET', '/bmc/:host/chassis', 'read'],
  ['bmc', 'GET', '/bmc/:host/chassis/power/?', 'read'],
  ['bmc', 'GET', '/bmc/:host/chassis/power/:action', 'read'],
  ['bmc', 'GET', '/bmc/:host/lan/?', 'read'],
  ['bmc', 'GET', '/bmc/:host/lan/:action', 'read'],
  ['bmc', 'GET', '/bmc/:host/chassis/identify/?', 'read'],
  ['bmc', 'GET', '/bmc/:host/chassis/identify/:action', 'read'],
  ['bmc', 'GET', '/bmc/:host/chassis/config/?', 'read'],
  ['bmc', 'GET', '/bmc/:host/chassis/config/:function', 'read'],
  ['bmc', 'GET', '/bmc/:host/fru/?', 'read'],
  ['bmc', 'GET', '/bmc/:host/fru/:action', 'read'],
  ['bmc', 'GET', '/bmc/:host/bmc/?', 'read'],
  ['bmc', 'GET', '/bmc/:host/bmc/:action', 'read'],
  ['bmc', 'GET', '/bmc/:host/sensors/get/:sensor', 'read'],
  ['bmc', 'GET', '/bmc/:host/sensors/?', 'read'],
  ['bmc', 'GET', '/bmc/:host/sensors/:action', 'read'],
  ['bmc', 'GET', '/bmc/*path', 'read'],
  ['bmc', 'PUT', '/bmc/:host/chassis/power/?', 'write'],
  ['bmc', 'PUT', '/bmc/:host/chassis/power/:action', 'write'],
  ['bmc', 'PUT', '/bmc/:host/chassis/identify/?', 'write'],
  ['bmc', 'PUT', '/bmc/:host/chassis/identify/:action', 'write'],
  ['bmc', 'PUT', '/bmc/:host/chassis/config/:function/:device', 'write'],
  ['bmc', 'PUT', '/bmc/:host/chassis/config/?', 'write'],
  ['bmc', 'PUT', '/bmc/:host/chassis/config/:function', 'write'],
  ['bmc', 'PUT', '/bmc/:host/bmc/:action', 'write'],
  ['bmc', 'PUT', '/bmc/*path', 'write'],
  // 3.4 HTTPBoot
  ['httpboot', 'GET', '/httpboot/*path', 'read'],
  ['httpboot', 'GET', '/EFI/*path', 'read'],
  // 3.11 Facts, 3.12 Logs
  ['facts', 'GET', '/facts/?', 'read'],
  ['facts', 'GET', '/facts/:fact', 'read'],
  ['logs', 'GET', '/logs/?', 'read'],
];

const key = (feature: string, method: string, pattern: string) => `${feature} ${method} ${pattern}`;
/** Plugin modules have their own tables and test (plugin-routes.test.ts); this file is
 * docs/protocol/smart-proxy-api.md §3.1–3.12. */
const PLUGINS = new Set(['dynflow', 'script', 'ansible', 'openscap']);
const CORE_FEATURES = ALL_FEATURES.filter((m) => !PLUGINS.has(m.name));
const allRoutes = CORE_FEATURES.flatMap((m) => m.routes.map((r) => ({ module: m, route: r })));

/** Writes whose repetition on a second backend changes the world: Foreman must see them applied once, so they fail over only on a refused connection (docs/design-notes.md). */
const EXACTLY_ONCE = new Set([
  'realm.create',
  'registration.register',
  'puppetca.sign',
  'puppetca.autosign',
  'puppetca.validate',
  'puppet.run',
  'templates.built',
  'templates.failed',
  'templates.post',
  'bmc.power_set',
  'bmc.power_set.hint',
  'bmc.identify_set',
  'bmc.identify_set.hint',
  'bmc.bootdevice',
  'bmc.config_set',
  'bmc.config_set.hint',
  'bmc.reset',
  'bmc.other_write',
]);

/** Writes a replicated saga can undo exactly, from a snapshot read. */
const UNDOABLE = new Set([
  'tftp.create',
  'tftp.delete',
  'tftp.create.legacy',
  'tftp.delete.legacy',
  'dhcp.create',
  'dhcp.delete_by_mac',
  'dhcp.delete_by_ip',
]);

describe('route tables against spec §3', () => {
  it('declare every spec route, with its read/write kind, and nothing else', () => {
    const declared = allRoutes.map(({ module, route }): [string, string] => [key(module.name, route.method, route.pattern), route.kind]);
    const expected = SPEC.map(([f, m, p, k]): [string, string] => [key(f, m, p), k]);
    expect(new Map(declared)).toEqual(new Map(expected));
    expect(declared).toHaveLength(expected.length);
  });

  it('give every route a unique name prefixed with its feature', () => {
    const names = allRoutes.map(({ route }) => route.name);
    expect(new Set(names).size).toBe(names.length);
    for (const { module, route } of allRoutes) expect(route.name.startsWith(`${module.name}.`)).toBe(true);
  });

  it('mark exactly the world-changing writes exactly-once, and never retry them', () => {
    const marked = allRoutes.filter(({ route }) => route.exactlyOnce).map(({ route }) => route.name);
    expect(new Set(marked)).toEqual(EXACTLY_ONCE);
    for (const { route } of allRoutes) if (route.exactlyOnce) expect(route.retrySafe).toBe(false);
  });

  // Template relays are reads of Foreman: a 5xx is Foreman's own answer, relayed, and another
  // backend would only ask Foreman again (recorded: one upstream request per relay).
  const RELAYS = new Set(['templates.get', 'templates.hostgroup', 'templates.userdata']);

  it('let every read be retried on another backend, except relays to Foreman', () => {
    for (const { route } of allRoutes) {
      if (route.kind === 'read') expect([route.name, route.retrySafe]).toEqual([route.name, !RELAYS.has(route.name)]);
    }
  });

  it('do not retry a DHCP create (an identical re-create answers 409), but retry idempotent writes', () => {
    const byName = new Map(allRoutes.map(({ route }) => [route.name, route]));
    expect(byName.get('dhcp.create')!.retrySafe).toBe(false);
    for (const n of ['tftp.create', 'tftp.delete', 'tftp.create_default', 'tftp.fetch_boot_file', 'dhcp.delete_by_mac', 'dns.create', 'dns.delete']) {
      expect([n, byName.get(n)!.retrySafe]).toEqual([n, true]);
    }
  });

  it('give every write either an exact undo (snapshot + restore) or a reason there is none', () => {
    for (const { route } of allRoutes) {
      if (route.kind === 'read') {
        expect([route.name, route.snapshot, route.restore, route.noInverse]).toEqual([route.name, undefined, undefined, undefined]);
        continue;
      }
      const undoable = route.restore !== undefined;
      expect([route.name, undoable]).toEqual([route.name, UNDOABLE.has(route.name)]);
      expect([route.name, route.snapshot !== undefined]).toEqual([route.name, undoable]);
      expect([route.name, typeof route.noInverse === 'string' && route.noInverse.length > 10]).toEqual([route.name, !undoable]);
    }
  });

  it('only DHCP unused_ip is confirmed across backends', () => {
    expect(allRoutes.filter(({ route }) => route.confirm).map(({ route }) => route.name)).toEqual(['dhcp.unused_ip']);
  });

  it('authorize as the smart proxy: templates, registration, httpboot need nothing, the rest trusted hosts', () => {
    const open = new Set(['templates', 'registration', 'httpboot']);
    for (const m of CORE_FEATURES) expect([m.name, m.auth]).toEqual([m.name, open.has(m.name) ? 'none' : 'trusted']);
    const overrides = allRoutes.filter(({ route }) => route.auth !== undefined).map(({ route }) => [route.name, route.auth]);
    expect(overrides).toEqual([['tftp.system_image', 'none']]);
  });

  it('accept a trailing slash exactly where the smart proxy does', () => {
    const optional = allRoutes.filter(({ route }) => route.pattern.endsWith('/?')).map(({ route }) => `${route.method} ${route.pattern}`);
    expect(optional.sort()).toEqual(
      [
        'GET /dhcp/?',
        'POST /dhcp/:network/?',
        'POST /dns/?',
        'DELETE /dns/:value/?',
        'GET /register/?',
        'POST /register/?',
        'GET /puppet/ca/?',
        'POST /realm/:realm/?',
        'DELETE /realm/:realm/:hostname/?',
        'GET /bmc/?',
        'GET /bmc/:host/chassis/power/?',
        'GET /bmc/:host/lan/?',
        'GET /bmc/:host/chassis/identify/?',
        'GET /bmc/:host/chassis/config/?',
        'GET /bmc/:host/fru/?',
        'GET /bmc/:host/bmc/?',
        'GET /bmc/:host/sensors/?',
        'PUT /bmc/:host/chassis/power/?',
        'PUT /bmc/:host/chassis/identify/?',
        'PUT /bmc/:host/chassis/config/?',
        'GET /facts/?',
        'GET /logs/?',
      ].sort(),
    );
    expect(findRoute('GET', '/tftp/serverName/')).toBeUndefined();
    expect(findRoute('POST', '/tftp/PXELinux/00:11:22:33:44:55/')).toBeUndefined();
    expect(findRoute('POST', '/dns/')?.route.name).toBe('dns.create');
    expect(findRoute('POST', '/realm/EXAMPLE.TEST/')?.route.name).toBe('realm.create');
  });

  it('give each module its default policy (spec §4), a unique name and load order, and routes under its mounts', () => {
    const policies = Object.fromEntries(ALL_FEATURES.map((m) => [m.name, m.localOnly ? 'local' : m.defaultPolicy]));
    expect(policies).toEqual({
      tftp: 'replicate',
      dhcp: 'failover',
      dns: 'failover',
      templates: 'local',
      registration: 'local',
      puppetca: 'primary',
      puppet: 'failover',
      realm: 'failover',
      bmc: 'failover',
      httpboot: 'failover',
      facts: 'failover',
      logs: 'local',
      dynflow: 'local',
      script: 'primary',
      ansible: 'failover',
      openscap: 'failover',
    });
    expect(new Set(ALL_FEATURES.map((m) => m.loadOrder)).size).toBe(ALL_FEATURES.length);
    for (const m of ALL_FEATURES) {
      expect(featureByName(m.name)).toBe(m);
      for (const r of m.routes) expect(m.mounts.some((mount) => r.pattern.startsWith(mount + '/') || r.pattern === mount)).toBe(true);
    }
    expect(featureByName('nope')).toBeUndefined();
  });

  it('mark the routes that name the host by its client certificate, and give each an answer of its own (docs/host-identity.md)', () => {
    const marked = ALL_FEATURES.flatMap((m) => m.routes.map((route) => ({ route }))).filter(({ route }) => route.hostIdentity === 'client-certificate');
    expect(marked.map(({ route }) => route.name)).toEqual(expect.arrayContaining(['script.jobs', 'script.fetch', 'script.cancel', 'script.update']));
    for (const { route } of marked) expect([route.name, typeof route.local === 'function' || route.service === true]).toEqual([route.name, true]);
  });

  it('answer logs, templates and registration locally on every route, and elsewhere only serverName', () => {
    expect(ALL_FEATURES.filter((m) => m.localOnly).map((m) => m.name)).toEqual(expect.arrayContaining(['logs', 'registration', 'templates']));
    for (const { module, route } of allRoutes) {
      if (module.localOnly) expect([route.name, typeof route.local === 'function' || route.service === true]).toEqual([route.name, true]);
    }
    const elsewhere = allRoutes.filter(({ module, route }) => route.local && !module.localOnly).map(({ route }) => route.name);
    expect(elsewhere).toEqual(['tftp.server_name']);
  });
});

describe('route precedence within a feature (first match wins, as in Sinatra)', () => {
  it.each([
    ['POST', '/tftp/PXELinux/create_default', 'tftp.create_default'],
    ['POST', '/tftp/create_default', 'tftp.create_default.legacy'],
    ['POST', '/tftp/fetch_boot_file', 'tftp.fetch_boot_file'],
    ['POST', '/tftp/00:11:22:33:44:55', 'tftp.create.legacy'],
    ['DELETE', '/tftp/00:11:22:33:44:55', 'tftp.delete.legacy'],
    ['GET', '/tftp/system_image/centos/vmlinuz', 'tftp.system_image'],
    ['GET', '/tftp/PXEGrub2/00:11:22:33:44:55', 'tftp.get'],
    ['GET', '/dhcp', 'dhcp.subnets'],
    ['GET', '/dhcp/192.0.2.0/unused_ip', 'dhcp.unused_ip'],
    ['GET', '/dhcp/192.0.2.0', 'dhcp.subnet'],
    ['POST', '/dhcp/192.0.2.0/', 'dhcp.create'],
    ['DELETE', '/dns/host1.example.test', 'dns.delete'],
    ['DELETE', '/dns/host1.example.test/', 'dns.delete'],
    ['DELETE', '/dns/host1.example.test/AAAA', 'dns.delete_typed'],
    ['GET', '/unattended/templateServer', 'templates.server'],
    ['GET', '/unattended/built', 'templates.built'],
    ['GET', '/unattended/provision', 'templates.get'],
    ['GET', '/unattended/provision/Kickstart%20default/base', 'templates.hostgroup'],
    ['GET', '/register', 'registration.script'],
    ['GET', '/puppet/ca', 'puppetca.list'],
    ['GET', '/puppet/ca/autosign', 'puppetca.autosign_list'],
    ['POST', '/puppet/ca/validate', 'puppetca.validate'],
    ['POST', '/puppet/ca/host1.example.test', 'puppetca.sign'],
    ['GET', '/puppet/environments/production/classes', 'puppet.classes'],
    ['GET', '/bmc', 'bmc.resources'],
    ['GET', '/bmc/providers', 'bmc.providers'],
    ['GET', '/bmc/10.0.0.5/chassis/power/status', 'bmc.power'],
    ['GET', '/bmc/10.0.0.5/chassis/power', 'bmc.power.hint'],
    ['GET', '/bmc/10.0.0.5/sensors/get/fan1', 'bmc.sensor'],
    ['GET', '/bmc/10.0.0.5/something/new', 'bmc.other_read'],
    ['PUT', '/bmc/10.0.0.5/chassis/power/cycle', 'bmc.power_set'],
    ['PUT', '/bmc/10.0.0.5/chassis/config/bootdevice/pxe', 'bmc.bootdevice'],
    ['PUT', '/bmc/10.0.0.5/bmc/reset', 'bmc.reset'],
    ['GET', '/EFI/BOOT/grubx64.efi', 'httpboot.efi'],
    ['GET', '/facts', 'facts.all'],
    ['GET', '/logs', 'logs.buffer'],
  ] as const)('%s %s → %s', (method, path, name) => {
    expect(findRoute(method, path)?.route.name).toBe(name);
  });

  it('leave SP-unknown requests unrouted', () => {
    expect(findRoute('GET', '/tftp/00:11:22:33:44:88')).toBeUndefined(); // legacy form has no GET
    expect(findRoute('PUT', '/tftp/PXELinux/00:11:22:33:44:55')).toBeUndefined();
    expect(findRoute('GET', '/dns/host1.example.test')).toBeUndefined();
    expect(findRoute('POST', '/dhcp')).toBeUndefined();
    expect(findRoute('GET', '/features/')).toBeUndefined();
  });
});

describe('no request belongs to two features', () => {
  const literals = [...new Set(ALL_FEATURES.flatMap((m) => m.routes.flatMap((r) => r.pattern.split('/'))))].filter(
    (s) => s !== '' && s !== '?' && !s.startsWith(':') && !s.startsWith('*'),
  );
  const fillers = ['x', ...literals];

  /** Concrete paths a pattern matches, parameters filled with every literal any route uses. */
  function probes(pattern: string): string[] {
    const optional = pattern.endsWith('/?');
    const segs = (optional ? pattern.slice(0, -2) : pattern).slice(1).split('/');
    let paths = [''];
    for (const s of segs) {
      const choices = s.startsWith(':') ? fillers : s.startsWith('*') ? ['', 'x', 'x/y', ...fillers.map((f) => `${f}/x`)] : [s];
      paths = paths.flatMap((p) => choices.map((c) => `${p}/${c}`));
      if (paths.length > 20_000) paths = paths.slice(0, 20_000);
    }
    return optional ? paths.flatMap((p) => [p, `${p}/`]) : paths;
  }

  it('every path a route of one feature matches is matched by no route of another', () => {
    const compiled = allRoutes.map(({ module, route }) => ({ module, route, match: compilePattern(route.pattern) }));
    const clashes: string[] = [];
    for (const { module, route } of allRoutes) {
      for (const path of probes(route.pattern)) {
        if (!compilePattern(route.pattern)(path)) continue;
        for (const other of compiled) {
          if (other.module === module || other.route.method !== route.method) continue;
          if (other.match(path)) clashes.push(`${route.method} ${path}: ${route.name} / ${other.route.name}`);
        }
      }
    }
    expect(clashes).toEqual([]);
  });

  it('routes /puppet/ca to Puppet CA and the rest of /puppet to Puppet', () => {
    expect(findRoute('GET', '/puppet/ca')?.module.name).toBe('puppetca');
    expect(findRoute('GET', '/puppet/environments')?.module.name).toBe('puppet');
    expect(findRoute('GET', '/puppet/environments/ca')?.module.name).toBe('puppet');
  });
});
