// Everything one simulator process holds: its options, the stores behind each module and the
// log buffer. Module routers and the control API share this one object.
import type { BmcStore } from './bmc-store.js';
import type { DhcpStore } from './dhcp-store.js';
import type { DnsStore } from './dns-store.js';
import type { DynflowStore } from './dynflow-store.js';
import type { SimArfUpload } from './openscap-spool.js';
import type { LogBuffer } from './log-buffer.js';
import type { SimModule, SimOptions } from './options.js';
import type { PuppetCaStore } from './puppetca-store.js';
import type { RealmStore } from './realm-store.js';

export interface SimContext {
  options: SimOptions;
  tftproot: string;
  /** "3.11.0-develop" */
  version: string;
  /** Module versions drop the -develop suffix: "3.11.0". */
  moduleVersion: string;
  logs: LogBuffer;
  dns: DnsStore;
  dhcp: DhcpStore;
  puppetca: PuppetCaStore;
  realm: RealmStore;
  bmc: BmcStore;
  dynflow: DynflowStore;
  /** ARF uploads that reached this proxy. */
  openscapSpool: SimArfUpload[];
  /** Bound ports, for the httpboot settings in /v2/features. */
  ports: { http?: number; https?: number };
  enabled(module: SimModule): boolean;
}
