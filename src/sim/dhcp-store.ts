// ISC dhcpd as the dhcp_isc provider sees it: host reservations (OMAPI host objects, global and
// keyed by MAC) and dynamic leases, each shown under the subnet that contains its IP, plus the
// provider's in-memory "allocated IPs" blacklist that unused_ip fills for 30 minutes. With a
// state file the reservations survive a restart, as dhcpd keeps host objects in its leases file.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { intToIp, ipToInt } from './ipv4.js';

export interface SubnetOptions {
  routers?: string[];
  domain_name_servers?: string[];
  range?: [string, string];
}

export interface Subnet {
  network: string;
  netmask: string;
  options: SubnetOptions;
}

export interface Reservation {
  name: string;
  ip: string;
  mac: string;
  hostname: string;
  filename?: string;
  nextServer?: string;
}

export interface Lease {
  ip: string;
  mac: string;
  starts: string;
  ends: string;
  state: string;
  next_state: string;
  hardware_type: string;
  client_hostname: string;
}

export const DEFAULT_SUBNETS: Subnet[] = [
  {
    network: '192.0.2.0',
    netmask: '255.255.255.0',
    options: { routers: ['192.0.2.1'], domain_name_servers: ['192.0.2.1'], range: ['192.0.2.100', '192.0.2.200'] },
  },
  {
    network: '198.51.100.0',
    netmask: '255.255.255.0',
    options: { routers: ['198.51.100.1'], range: ['198.51.100.50', '198.51.100.60'] },
  },
];

const BLACKLIST_MS = 30 * 60 * 1000;

/** dhcpd's lease-file time format: "2026-11-21 10:51:09 UTC". */
export function dhcpdTime(d: Date): string {
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function subnetIncludes(s: Subnet, ip: string): boolean {
  const mask = ipToInt(s.netmask);
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(s.network) & mask) >>> 0);
}

/** First and last host address (network+1 .. broadcast-1), as SP's subnet_range_addresses. */
export function subnetBounds(s: Subnet): [number, number] {
  const net = ipToInt(s.network);
  const mask = ipToInt(s.netmask);
  return [((net & mask) >>> 0) + 1, ((net | (~mask >>> 0)) >>> 0) - 1];
}

export class DhcpStore {
  readonly subnets: Subnet[];
  private reservations: Reservation[] = [];
  private leases: Lease[] = [];
  private allocated = new Map<string, number>();

  constructor(
    subnets: Subnet[] = DEFAULT_SUBNETS,
    /** JSON file the reservations are kept in across restarts; none: memory only. */
    private readonly stateFile?: string,
  ) {
    this.subnets = subnets;
    const kept = stateFile && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Reservation[]) : undefined;
    this.reset();
    if (kept) {
      this.reservations = kept;
      this.save();
    }
  }

  /** Written whole and renamed into place, so a killed process leaves the old or the new file. */
  private save(): void {
    if (!this.stateFile) return;
    writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(this.reservations));
    renameSync(`${this.stateFile}.tmp`, this.stateFile);
  }

  /** Back to the seeded leases file: one active lease for "leased1", nothing reserved. */
  reset(now: Date = new Date()): void {
    const starts = new Date(Math.floor(now.getTime() / 1000) * 1000);
    const ends = new Date(starts);
    ends.setUTCFullYear(ends.getUTCFullYear() + 5);
    this.reservations = [];
    this.allocated.clear();
    this.leases = [
      {
        ip: '192.0.2.150',
        mac: '52:54:00:00:00:99',
        starts: dhcpdTime(starts),
        ends: dhcpdTime(ends),
        state: 'active',
        next_state: 'free',
        hardware_type: 'ethernet',
        client_hostname: '"leased1"',
      },
    ];
    this.save();
  }

  /** By network address, else the subnet that contains the address. */
  findSubnet(address: string): Subnet | undefined {
    return this.subnets.find((s) => s.network === address) ?? this.subnets.find((s) => subnetIncludes(s, address));
  }

  subnetOf(ip: string): Subnet | undefined {
    return this.subnets.find((s) => subnetIncludes(s, ip));
  }

  hostsIn(s: Subnet): Reservation[] {
    return this.reservations.filter((r) => subnetIncludes(s, r.ip));
  }

  leasesIn(s: Subnet): Lease[] {
    return this.leases.filter((l) => subnetIncludes(s, l.ip));
  }

  hostByMac(s: Subnet, mac: string): Reservation | undefined {
    return this.hostsIn(s).find((r) => r.mac === mac.toLowerCase());
  }

  hostsByIp(s: Subnet, ip: string): Reservation[] {
    return this.hostsIn(s).filter((r) => r.ip === ip);
  }

  leaseByMac(s: Subnet, mac: string): Lease | undefined {
    return this.leasesIn(s).find((l) => l.mac === mac.toLowerCase());
  }

  leaseByIp(s: Subnet, ip: string): Lease | undefined {
    return this.leasesIn(s).find((l) => l.ip === ip);
  }

  /** OMAPI host objects are unique by hardware address across the whole server. */
  anyHostWithMac(mac: string): Reservation | undefined {
    return this.reservations.find((r) => r.mac === mac.toLowerCase());
  }

  add(r: Reservation): void {
    this.reservations.push({ ...r, mac: r.mac.toLowerCase() });
    this.save();
  }

  /** OMAPI `remove` of the host object with this hardware address. */
  removeByMac(mac: string): void {
    this.reservations = this.reservations.filter((r) => r.mac !== mac.toLowerCase());
    this.save();
  }

  /** A random free address in [from, to] (SP FreeIps#find_free_ip), then blacklisted. */
  findFreeIp(from: number, to: number, taken: Set<string>, nowMs = Date.now()): string | null {
    for (const [ip, until] of this.allocated) if (until <= nowMs) this.allocated.delete(ip);
    const candidates: string[] = [];
    for (let i = from; i <= to; i++) {
      const ip = intToIp(i);
      if (!taken.has(ip) && !this.allocated.has(ip)) candidates.push(ip);
    }
    if (candidates.length === 0) return null;
    const ip = candidates[Math.floor(Math.random() * candidates.length)];
    this.allocated.set(ip, nowMs + BLACKLIST_MS);
    return ip;
  }

  subnetLabel(ip: string): string {
    const s = this.subnetOf(ip);
    return s ? `${s.network}/${s.netmask}` : '';
  }

  reservationJson(r: Reservation): Record<string, unknown> {
    const out: Record<string, unknown> = {
      name: r.name,
      ip: r.ip,
      mac: r.mac,
      subnet: this.subnetLabel(r.ip),
      type: 'reservation',
      deleteable: true,
      hostname: r.hostname,
      hardware_type: 'ethernet',
    };
    if (r.filename !== undefined) out.filename = r.filename;
    if (r.nextServer !== undefined) out.nextServer = r.nextServer;
    return out;
  }

  leaseJson(l: Lease): Record<string, unknown> {
    return {
      name: 'lease-' + l.mac.replace(/:/g, ''),
      ip: l.ip,
      mac: l.mac,
      subnet: this.subnetLabel(l.ip),
      starts: l.starts,
      ends: l.ends,
      state: l.state,
      type: 'lease',
      tstp: l.ends,
      next_state: l.next_state,
      hardware_type: l.hardware_type,
      client_hostname: l.client_hostname,
    };
  }

  snapshot(): { reservations: Record<string, unknown>[]; leases: Record<string, unknown>[] } {
    return {
      reservations: this.reservations.map((r) => this.reservationJson(r)),
      leases: this.leases.map((l) => this.leaseJson(l)),
    };
  }
}
