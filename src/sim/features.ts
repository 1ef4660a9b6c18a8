// Root endpoints: /features and /version (never gated) and /v2/features (gated), in the shapes
// and key orders of the recording. Disabled modules still appear in /v2/features.
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { okJson } from './headers.js';
import { SIM_MODULES, type SimModule } from './options.js';

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
    default:
      return {};
  }
}

function capabilitiesOf(m: SimModule, running: boolean): string[] {
  if (m === 'bmc') return ['redfish', 'shell', 'ssh'];
  if (m === 'dhcp' && running) return ['dhcp_filename_hostname', 'dhcp_filename_ipv4'];
  return [];
}

export function v2Features(ctx: SimContext): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of SIM_MODULES) {
    const running = ctx.enabled(m);
    out[m] = {
      http_enabled: running,
      https_enabled: running,
      settings: settingsOf(ctx, m, running),
      state: running ? 'running' : 'disabled',
      capabilities: capabilitiesOf(m, running),
    };
  }
  return out;
}

export function rootRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  r.get('/features', (_req, res) => {
    okJson(res, SIM_MODULES.filter((m) => ctx.enabled(m)).sort());
  });
  r.get('/version', (_req, res) => {
    const modules: Record<string, string> = {};
    for (const m of SIM_MODULES) if (ctx.enabled(m)) modules[m] = ctx.moduleVersion;
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
