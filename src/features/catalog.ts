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
}

export const FEATURE_DEFAULTS: Record<string, FeatureDefaults> = {
  tftp: { policy: 'replicate', exposedSettings: ['tftp_servername'] },
  dhcp: { policy: 'failover', exposedSettings: [] },
  dns: { policy: 'failover', exposedSettings: [] },
  templates: { policy: 'failover', exposedSettings: ['template_url'] },
  registration: { policy: 'failover', exposedSettings: ['registration_url'] },
  puppetca: { policy: 'primary', exposedSettings: [] },
  puppet: { policy: 'failover', exposedSettings: [] },
  realm: { policy: 'failover', exposedSettings: [] },
  // SP 3.11 lists BMC's static provider capabilities whether or not the module runs.
  bmc: { policy: 'failover', exposedSettings: [], disabledCapabilities: ['redfish', 'shell', 'ssh'] },
  httpboot: { policy: 'failover', exposedSettings: ['http_port', 'https_port'] },
  facts: { policy: 'failover', exposedSettings: [] },
  logs: { policy: 'primary', exposedSettings: [], localOnly: true },
};

export const KNOWN_FEATURES = Object.keys(FEATURE_DEFAULTS);

/**
 * The smart proxy's plugin load order, in which /v2/features and /version list modules. Foreman
 * sees their JSON text, so the order is part of looking like a smart proxy.
 */
export const PLUGIN_ORDER = ['facts', 'dns', 'templates', 'tftp', 'dhcp', 'puppetca', 'puppet', 'bmc', 'realm', 'logs', 'httpboot', 'registration'];
