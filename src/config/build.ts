// Shapes schema-valid data (defaults already filled in by the validator) into a Config: the
// normalisations the schema allows for convenience are resolved here, once.
import { dirname, resolve } from 'node:path';
import { featureByName, rexFeatures } from '../features/index.js';
import { DEFAULT_ON_BACKEND_DOWN } from './schema.js';
import type { BackendConfig, Config, FeatureConfig, LogLevel, RexConfig, TlsFiles } from './types.js';

/** The file's shape once the schema has accepted it and filled in defaults. */
interface ValidData extends Omit<Config, 'bind_host' | 'trusted_hosts' | 'backends' | 'features' | 'log_level'> {
  bind_host: string | string[];
  trusted_hosts?: string[] | null;
  log_level: string;
  backends: Record<string, Omit<BackendConfig, 'name'>>;
  features: Record<string, Partial<Omit<FeatureConfig, 'name'>> & Pick<FeatureConfig, 'enabled' | 'settings'>>;
}

export function buildConfig(valid: unknown, source?: string): Config {
  const data = valid as ValidData;
  const backendNames = Object.keys(data.backends);
  const optional = [
    'http_port',
    'https_port',
    'ssl_certificate',
    'ssl_private_key',
    'ssl_ca_file',
    'foreman_url',
    'foreman_ssl_ca',
    'foreman_ssl_cert',
    'foreman_ssl_key',
    'registered_name',
    'registered_url',
  ] as const;
  const config: Config = {
    ...(source === undefined ? {} : { source }),
    bind_host: typeof data.bind_host === 'string' ? [data.bind_host] : data.bind_host,
    ...Object.fromEntries(optional.filter((key) => data[key] !== undefined).map((key) => [key, data[key]])),
    forward_verify: data.forward_verify,
    log_level: data.log_level.toUpperCase() as LogLevel,
    max_body_bytes: data.max_body_bytes,
    shutdown_timeout_ms: data.shutdown_timeout_ms,
    request_deadline_ms: data.request_deadline_ms,
    snapshot_timeout_ms: data.snapshot_timeout_ms,
    fallback_version: data.fallback_version,
    // Relative to the file, not to wherever the daemon happens to be started from.
    state_dir: resolve(source === undefined ? '.' : dirname(source), data.state_dir),
    state: { ...data.state },
    saga_retention: data.saga_retention,
    dynflow_task_retention: data.dynflow_task_retention,
    openscap_report_retention: data.openscap_report_retention,
    drift: { ...data.drift },
    compensation_retry: { ...data.compensation_retry },
    // Compared case-insensitively, as trusted_hosts (CNs; IPv6 hex digits).
    runtime_api: { allow: data.runtime_api.allow.map((entry) => entry.toLowerCase()), advertise_url: data.runtime_api.advertise_url },
    rex: buildRex(data.rex, data),
    health_check: data.health_check,
    passive_ejection: data.passive_ejection,
    backends: {},
    features: {},
  };
  // The smart proxy compares client names lower-cased; null means unset, as in settings.yml.
  if (Array.isArray(data.trusted_hosts)) config.trusted_hosts = data.trusted_hosts.map((h) => h.toLowerCase());

  for (const [name, backend] of Object.entries(data.backends)) {
    // Origin form (no trailing '/'), so request paths can be appended as they are.
    config.backends[name] = { name, ...backend, url: new URL(backend.url).origin };
  }
  for (const [name, feature] of Object.entries(data.features)) {
    if (feature.enabled === false) continue;
    // The schema admits only names of configurable modules.
    const module = featureByName(name)!;
    config.features[name] = {
      name,
      enabled: feature.enabled,
      policy: feature.policy ?? module.defaultPolicy,
      backends: module.localOnly && !module.forwards ? [] : [...(feature.backends ?? backendNames)],
      order: feature.order ?? 'ordered',
      settings: { ...feature.settings },
      // Local-only features have neither key; the values are inert there.
      on_backend_down: feature.on_backend_down ?? DEFAULT_ON_BACKEND_DOWN,
      min_success: feature.min_success ?? 1,
    };
  }
  if (config.rex.enabled) {
    const hosted = config.rex.mode === 'pull-mqtt';
    // The spool is answered by proxy-proxy itself, on every listener (a smart proxy's :enabled: true).
    // Dynflow forwards what it does not host to its listed backends (none unless listed, when
    // hosting; all by default in forward mode); script is hosted, or the backends' in forward mode.
    for (const { name, defaultPolicy } of rexFeatures()) {
      const listed = config.features[name];
      const backends = listed?.backends ?? (hosted ? [] : backendNames);
      config.features[name] = {
        name,
        enabled: listed?.enabled ?? true,
        policy: defaultPolicy,
        backends: hosted && name === 'script' ? [] : backends,
        order: 'ordered',
        settings: {},
        on_backend_down: 'refuse',
        min_success: 1,
      };
    }
  }
  return config;
}

/** The broker and Foreman connections present the listener's certificate unless told otherwise. */
function buildRex(rex: RexConfig, top: TlsFiles): RexConfig {
  const inherit = (own: TlsFiles): TlsFiles => {
    const out: TlsFiles = {};
    for (const key of ['ssl_certificate', 'ssl_private_key', 'ssl_ca_file'] as const) {
      const value = own[key] ?? top[key];
      if (value !== undefined) out[key] = value;
    }
    return out;
  };
  const out: RexConfig = {
    ...rex,
    mqtt: { ...rex.mqtt, ...inherit(rex.mqtt) },
    callback: { ...rex.callback, retry: { ...rex.callback.retry }, ...inherit(rex.callback) },
  };
  // Job URLs are built by appending /ssh/jobs/<uuid>.
  if (out.proxy_url !== undefined) out.proxy_url = out.proxy_url.replace(/\/+$/, '');
  return out;
}
