// Every smart-proxy module proxy-proxy routes, one file each. The router, the advertised
// feature list and the policies all start from this list; a new module is one more entry.
import { ansible } from './ansible.js';
import { bmc } from './bmc.js';
import { dhcp } from './dhcp.js';
import { dns } from './dns.js';
import { dynflow } from './dynflow.js';
import { facts } from './facts.js';
import { httpboot } from './httpboot.js';
import { logs } from './logs.js';
import { puppet } from './puppet.js';
import { puppetca } from './puppetca.js';
import { realm } from './realm.js';
import { registration } from './registration.js';
import { openscap } from './openscap.js';
import type { FeatureModule } from './route.js';
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

const BY_NAME = new Map(ALL_FEATURES.map((m) => [m.name, m]));

export function featureByName(name: string): FeatureModule | undefined {
  return BY_NAME.get(name);
}
