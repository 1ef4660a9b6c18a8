// The root documents (/features, /v2/features, /version) composed from the configuration and
// what backends reported. Foreman deletes a feature that disappears on refresh, so a configured
// feature is always advertised as running, whatever the backends' health at this moment.
import type { Config, FeatureConfig } from '../config/types.js';
import { featureByName, inPluginOrder } from '../features/index.js';
import type { FeatureModule } from '../features/module.js';
import type { BackendCatalog, V2FeatureEntry } from '../backends/backend-catalog.js';

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
function offered(cfg: Config, catalog: BackendCatalog, module: FeatureModule | undefined): boolean {
  if (!module?.plugin || hostedHere(cfg, module)) return true;
  const name = module.name;
  const backends = cfg.features[name]?.backends ?? [];
  const reports = backends.map((b) => catalog.report(b)).filter((r) => r !== undefined);
  if (reports.length === 0) return true;
  return reports.some((r) => r.features?.[name]?.state === 'running');
}

/** A remote-execution module the pull-mqtt spool answers here. */
function hostedHere(cfg: Config, module: FeatureModule): boolean {
  return module.rex === true && cfg.rex.enabled && cfg.rex.mode === 'pull-mqtt';
}

export function runningFeatures(cfg: Config, catalog: BackendCatalog): string[] {
  return Object.keys(cfg.features)
    .filter((name) => offered(cfg, catalog, featureByName(name)))
    .sort();
}

function enabledOn(cfg: Config, f: FeatureConfig, listener: 'http' | 'https'): boolean {
  const port = listener === 'http' ? cfg.http_port : cfg.https_port;
  if (port === undefined) return false;
  return f.enabled === true || f.enabled === listener;
}

export function v2Features(cfg: Config, catalog: BackendCatalog): Record<string, V2Entry> {
  const out: Record<string, V2Entry> = {};
  for (const module of inPluginOrder()) {
    const name = module.name;
    const f = cfg.features[name];
    // A proxy without a plugin gem does not list the plugin at all.
    if ((!f && (module.rex || module.plugin)) || (f && !offered(cfg, catalog, module))) continue;
    if (!f) {
      out[name] = {
        http_enabled: false,
        https_enabled: false,
        settings: defaultSettings(module),
        state: 'disabled',
        capabilities: [...(module.disabledCapabilities ?? [])],
      };
      continue;
    }
    const reported = f.backends
      .map((b) => catalog.report(b)?.features?.[name])
      .filter((e): e is V2FeatureEntry => e !== undefined && e.state === 'running');
    const hosted = hostedHere(cfg, module);
    out[name] = {
      http_enabled: enabledOn(cfg, f, 'http'),
      https_enabled: enabledOn(cfg, f, 'https'),
      settings: { ...defaultSettings(module), ...(hosted ? module.fixedSettings : {}), ...(reported[0]?.settings ?? {}), ...f.settings },
      state: 'running',
      capabilities: module.capabilitiesFromEveryBackend
        ? unionCapabilities(hosted ? (module.capabilities ?? []) : [], reported)
        : hosted && module.capabilities
          ? [...module.capabilities].sort()
          : commonCapabilities(reported),
    };
  }
  return out;
}

function defaultSettings(module: FeatureModule): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  if (module.providers) settings.use_provider = null;
  for (const key of Object.keys(module.exposedSettings)) settings[key] = null;
  return settings;
}

/** A capability is advertised only if every backend of the feature that reports it has it. */
function commonCapabilities(entries: V2FeatureEntry[]): string[] {
  if (entries.length === 0) return [];
  const [first, ...rest] = entries.map((e) => new Set((e.capabilities ?? []).filter((c): c is string => typeof c === 'string')));
  return [...first!].filter((c) => rest.every((s) => s.has(c))).sort();
}

/**
 * For modules whose capabilities are what can be launched anywhere (dynflow: its operations, as
 * /dynflow/tasks/operations answers them): the hosted ones and every one some backend runs.
 */
function unionCapabilities(hosted: readonly string[], entries: V2FeatureEntry[]): string[] {
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
  for (const module of inPluginOrder()) {
    const f = cfg.features[module.name];
    if (!f) continue;
    const fromBackend = f.backends.map((b) => catalog.report(b)?.modules?.[module.name]).find((v) => v !== undefined);
    modules[module.name] = fromBackend ?? module.version ?? moduleVersion;
  }
  return { version, modules };
}
