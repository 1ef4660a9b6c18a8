// Authorization exactly as the smart proxy's Sinatra filters (SP lib/sinatra/authorization.rb):
// first trusted_hosts (client-cert CN on HTTPS; reverse + optional forward DNS on HTTP), then
// "a client certificate is required on HTTPS". Same order, same 403 texts.
import { lookup, lookupService } from 'node:dns/promises';

export interface ClientIdentity {
  https: boolean;
  /** CN of a verified client certificate; null when none was presented. */
  certCn: string | null;
  /** True when a certificate was presented at all (even one without CN). */
  hasCert: boolean;
  remoteAddress: string;
}

export interface TrustedHostsSettings {
  trusted_hosts?: string[];
  forward_verify: boolean;
}

/** Resolves names the way Ruby's Resolv does for the smart proxy: hosts file, then DNS. */
export interface NameResolver {
  reverse(ip: string): Promise<string | undefined>;
  forward(name: string): Promise<string[]>;
}

export class SystemResolver implements NameResolver {
  private readonly cache = new Map<string, { at: number; value: unknown }>();
  constructor(private readonly ttlMs = 30_000) {}

  async reverse(ip: string): Promise<string | undefined> {
    return this.cached(`r:${ip}`, async () => {
      try {
        const { hostname } = await lookupService(ip, 0);
        // getnameinfo falls back to the numeric address when there is no name.
        return hostname && hostname !== ip ? hostname : undefined;
      } catch {
        return undefined;
      }
    });
  }

  async forward(name: string): Promise<string[]> {
    return this.cached(`f:${name}`, async () => {
      const all = await lookup(name, { all: true });
      return all.map((a) => a.address);
    });
  }

  private async cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.value as T;
    const value = await load();
    this.cache.set(key, { at: Date.now(), value });
    if (this.cache.size > 10_000) this.cache.clear();
    return value;
  }
}

export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/**
 * Returns the 403 message for a refused client, or undefined when allowed.
 * `pathInModule` is the path relative to the module's mount ("/serverName", "" for "/dhcp").
 */
export async function checkTrustedClient(
  settings: TrustedHostsSettings,
  client: ClientIdentity,
  pathInModule: string,
  resolver: NameResolver,
): Promise<string | undefined> {
  const trusted = settings.trusted_hosts;
  if (trusted) {
    let fqdn: string;
    if (client.https) {
      if (!client.hasCert) return 'could not read client cert from environment';
      if (!client.certCn) return 'could not read CN from the client certificate';
      fqdn = client.certCn;
    } else {
      const resolved = await remoteFqdn(client.remoteAddress, settings.forward_verify, resolver);
      if ('refusal' in resolved) return resolved.refusal;
      fqdn = resolved.fqdn;
    }
    fqdn = fqdn.toLowerCase();
    if (!trusted.some((h) => h.toLowerCase() === fqdn)) {
      return `Untrusted client ${fqdn} attempted to access ${pathInModule}. Check :trusted_hosts: in settings.yml`;
    }
  }
  if (client.https && !client.hasCert) return 'No client SSL certificate supplied';
  return undefined;
}

async function remoteFqdn(
  address: string,
  forwardVerify: boolean,
  resolver: NameResolver,
): Promise<{ fqdn: string } | { refusal: string }> {
  const ip = plainAddress(address);
  if (!ip) return { refusal: 'could not get remote address from environment' };
  const fqdn = await resolver.reverse(ip);
  if (!fqdn) return { refusal: `unable to resolve hostname for ip address ${ip}\n\nno name for ${ip}` };
  if (!forwardVerify) return { fqdn };
  let forward: string[];
  try {
    forward = await resolver.forward(fqdn);
  } catch (err) {
    return { refusal: `could not forward verify the remote hostname - ${fqdn} (${ip})\n\n${(err as Error).message}` };
  }
  if (!forward.includes(ip)) return { refusal: `untrusted client has no matching forward DNS lookup - ${fqdn} (${ip})` };
  return { fqdn };
}
