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
  bmc: { policy: 'failover', exposedSettings: [] },
  httpboot: { policy: 'failover', exposedSettings: ['http_port', 'https_port'] },
  facts: { policy: 'failover', exposedSettings: [] },
  logs: { policy: 'primary', exposedSettings: [], localOnly: true },
};

export const KNOWN_FEATURES = Object.keys(FEATURE_DEFAULTS);
