// IPv4 helpers with Ruby's validation rules (Resolv::IPv4::Regex: no leading zeros).
import { isIPv6 } from 'node:net';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isIPv4(s: string | undefined | null): s is string {
  return typeof s === 'string' && IPV4_RE.test(s);
}

export function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** IPAddr#to_s for IPv6: lower case, longest zero run compressed. */
export function normalizeIPv6(s: string): string | undefined {
  if (!isIPv6(s)) return undefined;
  try {
    return new URL(`http://[${s}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}
