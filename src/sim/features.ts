// Root endpoints: /features and /version (never gated) and /v2/features (gated), in the shapes
// and key orders of the recording. Disabled modules still appear in /v2/features.
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { okJson } from './headers.js';
import { SIM_MODULES, SIM_PLUGINS, type SimModule } from './options.js';

function settingsOf(ctx: SimContext, m: SimModule, running: boolean): Record<string, unknown> {
  const o = ctx.options;
  switch (m) {
    case 'dns':
      return { use_provider: running ? 'dns_nsupdate' : null };
    case 'dhcp':
      return { use_provider: running ? 'dhcp_isc' : null };
    case 'templates':
      return { template_url: o.templateUrl ?? null };
    case 'tftp':
      return { tftp_servername: o.tftpServername };
    case 'puppetca':
      return { use_provider: running ? 'puppetca_hostname_whitelisting' : null };
    case 'puppet':
      return { use_provider: running ? 'puppet_proxy_puppet_api' : null };
    case 'realm':
      return { use_provider: running ? 'realm_freeipa' : null };
    case 'httpboot':
      return running
        ? { http_port: ctx.ports.http ?? null, https_port: ctx.ports.https ?? null }
        : { http_port: null, https_port: null };
    case 'registration':
      return { registration_url: o.registrationUrl ?? null };
    case 'script':
      return { mode: 'ssh' };
    default:
      return {};
  }
}

function capabilitiesOf(ctx: SimContext, m: SimModule, running: boolean): string[] {
  if (m === 'bmc') return ['redfish', 'shell', 'ssh'];
  // smart_proxy_dynflow: the registered operations.
  if (m === 'dynflow' && running) return ['single', ...ctx.options.dynflowOperations];
  // remote_execution_ssh with cockpit_integration (its default).
  if (m === 'script' && running) return ['cockpit'];
  if (m === 'dhcp' && running) return ['dhcp_filename_hostname', 'dhcp_filename_ipv4'];
  return [];
}

/** Core modules always (disabled ones too), plugins only when installed, in load order. */
function listed(ctx: SimContext): SimModule[] {
  return [...SIM_MODULES, ...SIM_PLUGINS.filter((p) => ctx.enabled(p))];
}

export function v2Features(ctx: SimContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of listed(ctx)) {
    const running = ctx.enabled(m);
    out[m] = {
      http_enabled: running,
      https_enabled: running,
      settings: settingsOf(ctx, m, running),
      state: running ? 'running' : 'disabled',
      capabilities: [...capabilitiesOf(ctx, m, running), ...(running ? (ctx.options.extraCapabilities[m] ?? []) : [])],
    };
  }
  return out;
}

/** Plugins report their own gem version in /version. */
const PLUGIN_VERSIONS: Partial<Record<SimModule, string>> = { ansible: '3.7.1', dynflow: '0.9.4', openscap: '0.12.1', script: '1.0.1' };

export function rootRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  r.get('/features', (_req, res) => {
    okJson(res, listed(ctx).filter((m) => ctx.enabled(m)).sort());
  });
  r.get('/version', (_req, res) => {
    const modules: Record<string, string> = {};
    for (const m of listed(ctx)) if (ctx.enabled(m)) modules[m] = PLUGIN_VERSIONS[m] ?? ctx.moduleVersion;
    okJson(res, { version: ctx.version, modules });
  });
  return r;
}

/** Mounted at /v2; the whole app is gated like any module API. */
export function v2Router(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  r.use(gate(ctx.options.trustedHosts));
  r.get('/features', (_req, res) => okJson(res, v2Features(ctx)));
  return r;
}
