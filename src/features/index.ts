// Every smart-proxy module proxy-proxy knows, one file each. Schema, /features, /v2/features,
// /version, routing and drift all iterate over this list and name no module: a new module is
// its file plus one line here.
import { bmc } from './bmc.js';
import { dhcp } from './dhcp.js';
import { dns } from './dns.js';
import { ansible } from './ansible.js';
import { dynflow } from './dynflow.js';
import { facts } from './facts.js';
import { httpboot } from './httpboot.js';
import { logs } from './logs.js';
import type { FeatureModule } from './module.js';
import { openscap } from './openscap.js';
import { puppet } from './puppet.js';
import { puppetca } from './puppetca.js';
import { realm } from './realm.js';
import { registration } from './registration.js';
import { script } from './script.js';
import { templates } from './templates.js';
import { tftp } from './tftp.js';

export const ALL_FEATURES: FeatureModule[] = [
  tftp,
  dhcp,
  dns,
  templates,
  registration,
  puppetca,
  puppet,
  realm,
  bmc,
  httpboot,
  facts,
  logs,
  dynflow,
  script,
  ansible,
  openscap,
];

// The views below read the list when asked, not when this file loads, so a module appended to it
// is seen everywhere.

export function featureByName(name: string): FeatureModule | undefined {
  return ALL_FEATURES.find((m) => m.name === name);
}

/** Modules that may be listed under `features:` in the config file. */
export function configurableFeatures(): FeatureModule[] {
  return ALL_FEATURES.filter((m) => !m.rex || m.forwards);
}

/**
 * Does proxy-proxy answer this configured feature itself (the status says `local`)? Local-only
 * modules always (dynflow forwards only what it does not host); a remote-execution module while
 * the spool hosts it, i.e. it has no backends (script in rex.mode pull-mqtt).
 */
export function answeredLocally(name: string, backendCount: number): boolean {
  const m = featureByName(name);
  return m !== undefined && (m.localOnly === true || (m.rex === true && backendCount === 0));
}

/** Modules offered when the remote-execution spool is enabled (`rex.enabled`). */
export function rexFeatures(): FeatureModule[] {
  return ALL_FEATURES.filter((m) => m.rex);
}

/** Every module in the smart proxy's plugin load order (the order of /v2/features and /version). */
export function inPluginOrder(): FeatureModule[] {
  return [...ALL_FEATURES].sort((a, b) => a.loadOrder - b.loadOrder);
}
