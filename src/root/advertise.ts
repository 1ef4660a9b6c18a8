// The root documents (/features, /v2/features, /version) composed from the configuration and
// what backends reported. Foreman deletes a feature that disappears on refresh, so a configured
// feature is always advertised as running, whatever the backends' health at this moment.
import type { Config, FeatureConfig } from '../config/types.js';
import { FEATURE_DEFAULTS, PLUGIN_ORDER } from '../features/catalog.js';
import type { BackendCatalog, V2FeatureEntry } from '../backends/backend-catalog.js';

/** Modules whose /v2/features settings carry `use_provider` on a real smart proxy. */
const PROVIDER_MODULES = new Set(['dhcp', 'dns', 'realm', 'puppetca', 'puppet']);

export interface V2Entry {
  http_enabled: boolean;
  https_enabled: boolean;
  settings: Record<string, unknown>;
  state: string;
  capabilities: string[];
}

/**
 * Plugin modules proxy-proxy routes to its backends (not hosts itself): offered while some backend
 * of the feature offers it. Before any of them has reported, configured means offered: a first
 * refresh of Foreman must not delete a feature because proxy-proxy had not asked yet.
 */
function offered(cfg: Config, catalog: BackendCatalog, name: string): boolean {
  const defaults = FEATURE_DEFAULTS[name];
  const hosted = defaults?.rex === true && cfg.rex.enabled && cfg.rex.mode === 'pull-mqtt';
  if (!defaults?.plugin || hosted) return true;
  const backends = cfg.features[name]?.backends ?? [];
  const reports = backends.map((b) => catalog.report(b)).filter((r) => r !== undefined);
  if (reports.length === 0) return true;
  return reports.some((r) => r.features?.[name]?.state === 'running');
}

export function runningFeatures(cfg: Config, catalog: BackendCatalog): string[] {
  return Object.keys(cfg.features)
    .filter((name) => offered(cfg, catalog, name))
    .sort();
}

function enabledOn(cfg: Config, f: FeatureConfig, listener: 'http' | 'https'): boolean {
  const port = listener === 'http' ? cfg.http_port : cfg.https_port;
  if (port === undefined) return false;
  return f.enabled === true || f.enabled === listener;
}

export function v2Features(cfg: Config, catalog: BackendCatalog): Record<string, V2Entry> {
  const out: Record<string, V2Entry> = {};
  for (const name of PLUGIN_ORDER) {
    const f = cfg.features[name];
    const defaults = FEATURE_DEFAULTS[name];
    // A proxy without a plugin gem does not list the plugin at all.
    if ((!f && (defaults?.rex || defaults?.plugin)) || (f && !offered(cfg, catalog, name))) continue;
    if (!f) {
      out[name] = {
        http_enabled: false,
        https_enabled: false,
        settings: defaultSettings(name),
        state: 'disabled',
        capabilities: [...(FEATURE_DEFAULTS[name]?.disabledCapabilities ?? [])],
      };
      continue;
    }
    const reported = f.backends
      .map((b) => catalog.report(b)?.features?.[name])
      .filter((e): e is V2FeatureEntry => e !== undefined && e.state === 'running');
    const hosted = defaults?.rex === true && cfg.rex.enabled && cfg.rex.mode === 'pull-mqtt';
    out[name] = {
      http_enabled: enabledOn(cfg, f, 'http'),
      https_enabled: enabledOn(cfg, f, 'https'),
      settings: { ...defaultSettings(name), ...(hosted ? defaults?.fixedSettings : {}), ...(reported[0]?.settings ?? {}), ...f.settings },
      state: 'running',
      capabilities:
        name === 'dynflow'
          ? dynflowCapabilities(hosted ? (defaults?.capabilities ?? []) : [], reported)
          : hosted && defaults?.capabilities
            ? [...defaults.capabilities].sort()
            : commonCapabilities(reported),
    };
  }
  return out;
}

function defaultSettings(name: string): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (PROVIDER_MODULES.has(name)) settings.use_provider = null;
  for (const key of FEATURE_DEFAULTS[name]?.exposedSettings ?? []) settings[key] = null;
  return settings;
}

/** A capability is advertised only if every backend of the feature that reports it has it. */
function commonCapabilities(entries: V2FeatureEntry[]): string[] {
  if (entries.length === 0) return [];
  const [first, ...rest] = entries.map((e) => new Set((e.capabilities ?? []).filter((c): c is string => typeof c === 'string')));
  return [...first!].filter((c) => rest.every((s) => s.has(c))).sort();
}

/**
 * Dynflow's capabilities are its launchable operations, as /dynflow/tasks/operations answers
 * them: the hosted ones and every operation some backend runs (a launch goes where it runs).
 */
function dynflowCapabilities(hosted: readonly string[], entries: V2FeatureEntry[]): string[] {
  const caps = new Set(hosted);
  for (const e of entries) for (const c of e.capabilities ?? []) if (typeof c === 'string') caps.add(c);
  return [...caps].sort();
}

/** The backends' own version, so Foreman's version check sees the release it talks to. */
export function reportedVersion(cfg: Config, catalog: BackendCatalog): string {
  for (const name of Object.keys(cfg.backends)) {
    const v = catalog.report(name)?.version;
    if (v) return v;
  }
  return cfg.fallback_version;
}

export function versionDocument(cfg: Config, catalog: BackendCatalog): { version: string; modules: Record<string, string> } {
  const version = reportedVersion(cfg, catalog);
  const moduleVersion = version.replace(/-develop$/, '');
  const modules: Record<string, string> = {};
  // Plugin order, as the smart proxy lists them (unlike /features, which is sorted).
  for (const name of PLUGIN_ORDER) {
    const f = cfg.features[name];
    if (!f) continue;
    const fromBackend = f.backends.map((b) => catalog.report(b)?.modules?.[name]).find((v) => v !== undefined);
    modules[name] = fromBackend ?? FEATURE_DEFAULTS[name]?.version ?? moduleVersion;
  }
  return { version, modules };
}
