// The smart-proxy modules proxy-proxy knows, with the policy each gets unless the config says
// otherwise (spec §4) and the settings it exposes in /v2/features. Config validation and the
// feature route tables both read this list, so a module is named in one place.
import type { PolicyName } from '../config/types.js';

export interface FeatureDefaults {
  policy: PolicyName;
  /** Exposed settings (SP `expose_setting`) that config may override, e.g. to name the VIP. */
  exposedSettings: string[];
  /** Answered by proxy-proxy itself; takes no backends. */
  localOnly?: boolean;
  /** Capabilities the smart proxy lists for the module even while it is disabled. */
  disabledCapabilities?: string[];
  /**
   * A smart-proxy plugin proxy-proxy hosts itself as the remote-execution spool: offered when
   * `rex.enabled` is true, never listed under `features:`, absent from /v2/features otherwise
   * (as on a proxy without the plugin installed).
   */
  rex?: boolean;
  /**
   * May be listed under `features:` with `backends` (and no policy): dynflow forwards the
   * operations proxy-proxy does not host to them; script uses them with `rex.mode: forward`.
   */
  forwards?: boolean;
  /**
   * A smart-proxy plugin (gem): listed in /features and /v2/features only while a backend of the
   * feature offers it (unless proxy-proxy hosts it), absent from /v2/features when not configured.
   */
  plugin?: boolean;
  /** Capabilities reported while the module runs, for modules proxy-proxy answers itself. */
  capabilities?: string[];
  /** Settings reported in /v2/features while the module runs, whatever the backends say. */
  fixedSettings?: Record<string, string>;
  /** Version reported in /version: plugins carry their own gem version, not the proxy's. */
  version?: string;
}

export const FEATURE_DEFAULTS: Record<string, FeatureDefaults> = {
  tftp: { policy: 'replicate', exposedSettings: ['tftp_servername'] },
  dhcp: { policy: 'failover', exposedSettings: [] },
  dns: { policy: 'failover', exposedSettings: [] },
  // Relayed to Foreman by proxy-proxy itself, so Foreman sees each host's own address (docs/host-identity.md).
  templates: { policy: 'failover', exposedSettings: ['template_url'], localOnly: true },
  registration: { policy: 'failover', exposedSettings: ['registration_url'], localOnly: true },
  puppetca: { policy: 'primary', exposedSettings: [] },
  puppet: { policy: 'failover', exposedSettings: [] },
  realm: { policy: 'failover', exposedSettings: [] },
  // SP 3.11 lists BMC's static provider capabilities whether or not the module runs.
  bmc: { policy: 'failover', exposedSettings: [], disabledCapabilities: ['redfish', 'shell', 'ssh'] },
  httpboot: { policy: 'failover', exposedSettings: ['http_port', 'https_port'] },
  facts: { policy: 'failover', exposedSettings: [] },
  logs: { policy: 'primary', exposedSettings: [], localOnly: true },
  // smart_proxy_dynflow: its capabilities are the registered launcher operations (rex-pull.md §1.1).
  // Hosted operations, plus those of the backends it forwards to (docs/plugin-protocols.md §1).
  dynflow: { policy: 'primary', exposedSettings: [], localOnly: true, rex: true, forwards: true, plugin: true, capabilities: ['single', 'ssh'], version: '0.9.4' },
  // smart_proxy_remote_execution_ssh in pull-mqtt mode. No 'cockpit': the web console needs SSH.
  // With rex.mode: forward the backends' own settings and capabilities are reported instead.
  script: { policy: 'primary', exposedSettings: [], localOnly: true, rex: true, forwards: true, plugin: true, capabilities: [], fixedSettings: { mode: 'pull-mqtt' }, version: '1.0.1' },
  // smart_proxy_ansible: reads from any backend; execution is the dynflow operation ansible-runner.
  ansible: { policy: 'failover', exposedSettings: [], plugin: true },
  // smart_proxy_openscap: uploads are taken and spooled by proxy-proxy, the rest goes to a backend.
  openscap: { policy: 'failover', exposedSettings: [], plugin: true },
};

/** Modules that may be listed under `features:` in the config file. */
export const KNOWN_FEATURES = Object.keys(FEATURE_DEFAULTS).filter((name) => !FEATURE_DEFAULTS[name]!.rex || FEATURE_DEFAULTS[name]!.forwards);

/** Modules offered when the remote-execution spool is enabled (`rex.enabled`). */
export const REX_FEATURES = Object.keys(FEATURE_DEFAULTS).filter((name) => FEATURE_DEFAULTS[name]!.rex);

/**
 * The smart proxy's plugin load order, in which /v2/features and /version list modules. Foreman
 * sees their JSON text, so the order is part of looking like a smart proxy. Gem plugins load
 * after the built-in modules, in bundler.d order (file names: ansible, dynflow, openscap,
 * remote_execution_ssh).
 */
export const PLUGIN_ORDER = ['facts', 'dns', 'templates', 'tftp', 'dhcp', 'puppetca', 'puppet', 'bmc', 'realm', 'logs', 'httpboot', 'registration', 'ansible', 'dynflow', 'openscap', 'script'];
