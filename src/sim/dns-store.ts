// The DNS server behind the nsupdate provider (BIND in the recording), in memory. Only the
// configured zones are served: updates elsewhere are refused by "BIND" and silently lost, which
// the recorded proxy still answered with 200.

export type DnsType = 'A' | 'AAAA' | 'CNAME' | 'PTR' | 'SRV';

export interface DnsRecord {
  /** Owner name without the trailing dot. */
  name: string;
  type: DnsType;
  /** As `dig +short` prints it: names absolute (trailing dot), IPv6 compressed. */
  value: string;
}

export function stripDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

export function absolute(name: string): string {
  return name.endsWith('.') ? name : name + '.';
}

export class DnsStore {
  private records: DnsRecord[] = [];

  constructor(private readonly zones: string[]) {}

  served(name: string): boolean {
    const n = stripDot(name).toLowerCase();
    return this.zones.some((z) => {
      const zone = stripDot(z).toLowerCase();
      return n === zone || n.endsWith('.' + zone);
    });
  }

  /** What a resolver asking the server gets: nothing for names outside the served zones. */
  lookup(name: string, type: DnsType): DnsRecord[] {
    const n = stripDot(name).toLowerCase();
    return this.records.filter((r) => r.type === type && r.name.toLowerCase() === n);
  }

  /** nsupdate `update add`; an RRset keeps one copy of a value, CNAMEs never share a name. */
  add(name: string, type: DnsType, value: string): void {
    if (!this.served(name)) return;
    const n = stripDot(name).toLowerCase();
    const atName = this.records.filter((r) => r.name.toLowerCase() === n);
    // RFC 2136 §3.4.2.2: BIND ignores CNAME next to other data and other data next to a CNAME.
    if (type === 'CNAME' ? atName.some((r) => r.type !== 'CNAME') : atName.some((r) => r.type === 'CNAME')) return;
    if (type === 'CNAME') this.records = this.records.filter((r) => !(r.type === 'CNAME' && r.name.toLowerCase() === n));
    if (atName.some((r) => r.type === type && r.value.toLowerCase() === value.toLowerCase())) return;
    this.records.push({ name: stripDot(name), type, value });
  }

  /** nsupdate `update delete NAME TYPE`: every record of that type goes; none is fine. */
  remove(name: string, type: DnsType): void {
    if (!this.served(name)) return;
    const n = stripDot(name).toLowerCase();
    this.records = this.records.filter((r) => !(r.type === type && r.name.toLowerCase() === n));
  }

  all(): DnsRecord[] {
    return this.records.map((r) => ({ ...r }));
  }

  reset(): void {
    this.records = [];
  }
}
