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

/** How long a resolved name is trusted without asking again, ms. */
export const NAME_TTL_MS = 30_000;

export class SystemResolver implements NameResolver {
  private readonly cache = new Map<string, { at: number; value: unknown }>();
  constructor(private readonly ttlMs = NAME_TTL_MS) {}

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

/** The name trusted_hosts is matched against, or why there is none (the 403 text). */
type CallerName = { fqdn: string } | { refusal: string };

function certificateName(client: ClientIdentity): CallerName {
  if (!client.hasCert) return { refusal: 'could not read client cert from environment' };
  if (!client.certCn) return { refusal: 'could not read CN from the client certificate' };
  return { fqdn: client.certCn };
}

/** trusted_hosts lower-cased once per list (a config holds one). */
const trustedSets = new WeakMap<string[], Set<string>>();

function trustedSet(trusted: string[]): Set<string> {
  let set = trustedSets.get(trusted);
  if (!set) trustedSets.set(trusted, (set = new Set(trusted.map((h) => h.toLowerCase()))));
  return set;
}

/** The decision once the caller's name is known (`name` only matters with trusted_hosts). */
function verdict(settings: TrustedHostsSettings, client: ClientIdentity, pathInModule: string, name: CallerName | undefined): string | undefined {
  const trusted = settings.trusted_hosts;
  if (trusted && name) {
    if ('refusal' in name) return name.refusal;
    const fqdn = name.fqdn.toLowerCase();
    if (!trustedSet(trusted).has(fqdn)) {
      return `Untrusted client ${fqdn} attempted to access ${pathInModule}. Check :trusted_hosts: in settings.yml`;
    }
  }
  if (client.https && !client.hasCert) return 'No client SSL certificate supplied';
  return undefined;
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
  if (!settings.trusted_hosts) return verdict(settings, client, pathInModule, undefined);
  const name = client.https ? certificateName(client) : await remoteFqdn(client.remoteAddress, settings.forward_verify, resolver);
  return verdict(settings, client, pathInModule, name);
}

/**
 * checkTrustedClient for live connections: a keep-alive connection's caller does not change, so
 * the name its address resolved to is kept with the connection for NAME_TTL_MS (the resolver's
 * own cache time) and its later requests are decided without a lookup, synchronously. Only
 * names are kept: a refusal (no name, a failed lookup) is looked up again on the next request.
 * On HTTPS the name is the certificate's CN, which cannot change within a TLS connection.
 */
export class ConnectionTrust {
  private readonly names = new WeakMap<object, { fqdn: string; forwardVerify: boolean; until: number }>();

  constructor(
    private readonly resolver: NameResolver,
    private readonly ttlMs = NAME_TTL_MS,
  ) {}

  check(settings: TrustedHostsSettings, client: ClientIdentity, pathInModule: string, connection: object): string | undefined | Promise<string | undefined> {
    if (!settings.trusted_hosts) return verdict(settings, client, pathInModule, undefined);
    if (client.https) return verdict(settings, client, pathInModule, certificateName(client));
    const kept = this.names.get(connection);
    const now = performance.now();
    if (kept && kept.forwardVerify === settings.forward_verify && kept.until > now) return verdict(settings, client, pathInModule, kept);
    return remoteFqdn(client.remoteAddress, settings.forward_verify, this.resolver).then((name) => {
      if ('fqdn' in name) this.names.set(connection, { fqdn: name.fqdn, forwardVerify: settings.forward_verify, until: now + this.ttlMs });
      return verdict(settings, client, pathInModule, name);
    });
  }
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
