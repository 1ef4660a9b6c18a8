// Assembles one simulated smart proxy: stores, API listeners, control API.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApiApp } from './api-app.js';
import { BmcStore } from './bmc-store.js';
import type { SimContext } from './context.js';
import { startControl } from './control.js';
import { DhcpStore } from './dhcp-store.js';
import { DnsStore } from './dns-store.js';
import { DynflowStore } from './dynflow-store.js';
import { CallLog, Faults } from './faults.js';
import { ApiListeners } from './listeners.js';
import { LogBuffer } from './log-buffer.js';
import { SIM_MODULES, type SimOptions } from './options.js';
import { PuppetCaStore } from './puppetca-store.js';
import { RealmStore } from './realm-store.js';

export interface RunningSim {
  name: string;
  port: number;
  httpsPort?: number;
  /** The API port speaks TLS (ssl files given without --https-port). */
  apiTls: boolean;
  controlPort: number;
  tftproot: string;
  ctx: SimContext;
  stop(): Promise<void>;
}

/** Startup lines like the ones SP writes into its log buffer while loading modules. */
function logStartup(ctx: SimContext): void {
  const o = ctx.options;
  for (const m of SIM_MODULES) {
    if (!ctx.enabled(m)) {
      ctx.logs.push('WARN', `Couldn't find settings file ${m}.yml. Using default settings.`);
      continue;
    }
    const settings =
      m === 'tftp'
        ? `'enabled': true, 'tftp_servername': ${o.tftpServername}, 'tftproot': ${ctx.tftproot}`
        : m === 'templates'
          ? `'enabled': true, 'template_url': ${o.templateUrl ?? ''}`
          : `'enabled': true`;
    ctx.logs.push('DEBUG', `'${m}' settings: ${settings}`);
    ctx.logs.push('DEBUG', `'${m}' ports: 'http': true, 'https': true`);
  }
  ctx.logs.push('INFO', `Smart proxy simulator ${o.name} started`);
}

export async function startSim(options: SimOptions): Promise<RunningSim> {
  const ownTftproot = options.tftproot === undefined;
  const tftproot = ownTftproot
    ? mkdtempSync(join(tmpdir(), `proxy-proxy-sim-${options.name.replace(/[^A-Za-z0-9_.-]/g, '_')}-`))
    : resolve(options.tftproot as string);
  mkdirSync(tftproot, { recursive: true });

  const version = options.version;
  const ctx: SimContext = {
    options,
    tftproot,
    version,
    moduleVersion: version.replace(/-develop$/, ''),
    logs: new LogBuffer(2000, 1000, 'ERROR', options.verbose ? (l) => process.stderr.write(l + '\n') : undefined),
    dns: new DnsStore(options.dnsZones),
    dhcp: new DhcpStore(undefined, options.dhcpState),
    puppetca: new PuppetCaStore(),
    realm: new RealmStore(),
    bmc: new BmcStore(),
    dynflow: new DynflowStore(),
    openscapSpool: [],
    ports: {},
    enabled: (m) => options.features.has(m),
  };
  const calls = new CallLog();
  const faults = new Faults();
  const listeners = new ApiListeners(createApiApp(ctx, calls, faults), options);
  const bound = await listeners.start();
  if (bound.apiTls) ctx.ports.https = bound.port;
  else ctx.ports.http = bound.port;
  if (bound.httpsPort !== undefined) ctx.ports.https = bound.httpsPort;

  let control: { server: http.Server; port: number };
  try {
    control = await startControl({ ctx, calls, faults, listeners }, options.host, options.controlPort);
  } catch (err) {
    await listeners.close();
    throw err;
  }
  logStartup(ctx);

  let stopped = false;
  return {
    name: options.name,
    port: bound.port,
    httpsPort: bound.httpsPort,
    apiTls: bound.apiTls,
    controlPort: control.port,
    tftproot,
    ctx,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all([
        listeners.close(),
        new Promise<void>((r) => {
          control.server.close(() => r());
          control.server.closeAllConnections();
        }),
      ]);
      ctx.dynflow.reset();
      if (ownTftproot) rmSync(tftproot, { recursive: true, force: true });
    },
  };
}
