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

export function runningFeatures(cfg: Config): string[] {
  return Object.keys(cfg.features).sort();
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
    // A proxy without the remote-execution plugins does not list them at all.
    if (!f && defaults?.rex) continue;
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
      .filter((e): e is V2FeatureEntry => e !== undefined);
    out[name] = {
      http_enabled: enabledOn(cfg, f, 'http'),
      https_enabled: enabledOn(cfg, f, 'https'),
      settings: { ...defaultSettings(name), ...defaults?.fixedSettings, ...(reported[0]?.settings ?? {}), ...f.settings },
      state: 'running',
      capabilities: defaults?.capabilities ? [...defaults.capabilities].sort() : mergeCapabilities(reported),
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

function mergeCapabilities(entries: V2FeatureEntry[]): string[] {
  const caps = new Set<string>();
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
