import { describe, it, expect } from '@jest/globals';
import { checkTrustedClient, ConnectionTrust, type NameResolver } from '../../src/http/trusted-hosts.js';

const resolver = (names: Record<string, string>, forward: Record<string, string[]>): NameResolver => ({
  reverse: async (ip) => names[ip],
  forward: async (name) => {
    if (!(name in forward)) throw new Error(`no address for ${name}`);
    return forward[name]!;
  },
});

const dns = resolver(
  { '192.0.2.5': 'foreman.example.test', '192.0.2.6': 'spoof.example.test' },
  { 'foreman.example.test': ['192.0.2.5'], 'spoof.example.test': ['192.0.2.99'] },
);
const https = (cn: string | null) => ({ https: true, certCn: cn, hasCert: cn !== null, remoteAddress: '192.0.2.5' });
const plain = (ip: string) => ({ https: false, certCn: null, hasCert: false, remoteAddress: ip });

describe('trusted_hosts as the smart proxy checks it', () => {
  const settings = { trusted_hosts: ['Foreman.example.test'], forward_verify: true };

  it('HTTPS: trusted CN passes, case-insensitively', async () => {
    expect(await checkTrustedClient(settings, https('FOREMAN.example.test'), '/serverName', dns)).toBeUndefined();
  });

  it('HTTPS: untrusted CN gets the smart proxy text, path relative to the module', async () => {
    expect(await checkTrustedClient(settings, https('other.example.test'), '', dns)).toBe(
      'Untrusted client other.example.test attempted to access . Check :trusted_hosts: in settings.yml',
    );
  });

  it('HTTPS: no certificate', async () => {
    expect(await checkTrustedClient(settings, https(null), '/x', dns)).toBe('could not read client cert from environment');
    expect(await checkTrustedClient({ forward_verify: true }, https(null), '/x', dns)).toBe('No client SSL certificate supplied');
  });

  it('HTTP: reverse DNS, then forward verification', async () => {
    expect(await checkTrustedClient(settings, plain('192.0.2.5'), '/x', dns)).toBeUndefined();
    expect(await checkTrustedClient(settings, plain('::ffff:192.0.2.5'), '/x', dns)).toBeUndefined();
    expect(await checkTrustedClient(settings, plain('192.0.2.7'), '/x', dns)).toBe(
      'unable to resolve hostname for ip address 192.0.2.7\n\nno name for 192.0.2.7',
    );
    expect(await checkTrustedClient({ trusted_hosts: ['spoof.example.test'], forward_verify: true }, plain('192.0.2.6'), '/x', dns)).toBe(
      'untrusted client has no matching forward DNS lookup - spoof.example.test (192.0.2.6)',
    );
    expect(await checkTrustedClient({ trusted_hosts: ['spoof.example.test'], forward_verify: false }, plain('192.0.2.6'), '/x', dns)).toBeUndefined();
  });

  it('unset list allows everyone; an empty list denies everyone', async () => {
    expect(await checkTrustedClient({ forward_verify: true }, plain('192.0.2.7'), '/x', dns)).toBeUndefined();
    expect(await checkTrustedClient({ trusted_hosts: [], forward_verify: true }, plain('192.0.2.5'), '/x', dns)).toMatch(/^Untrusted client foreman.example.test/);
  });
});

describe('trusted_hosts per connection (ConnectionTrust)', () => {
  /** dns, counting the lookups. */
  function counted() {
    const lookups: string[] = [];
    const r: NameResolver = {
      reverse: (ip) => (lookups.push(`reverse ${ip}`), dns.reverse(ip)),
      forward: (name) => (lookups.push(`forward ${name}`), dns.forward(name)),
    };
    return { r, lookups };
  }
  const settings = { trusted_hosts: ['foreman.example.test'], forward_verify: true };

  it('resolves a connection once, then decides its later requests at once, with the same answers', async () => {
    const { r, lookups } = counted();
    const trust = new ConnectionTrust(r);
    const connection = {};
    expect(await trust.check(settings, plain('192.0.2.5'), '/x', connection)).toBeUndefined();
    const again = trust.check(settings, plain('192.0.2.5'), '/x', connection);
    expect(again).toBeUndefined();
    // The list is read on every request: a reload that drops the host refuses it on the same connection.
    expect(trust.check({ trusted_hosts: ['other.example.test'], forward_verify: true }, plain('192.0.2.5'), '/y', connection)).toBe(
      'Untrusted client foreman.example.test attempted to access /y. Check :trusted_hosts: in settings.yml',
    );
    expect(lookups).toEqual(['reverse 192.0.2.5', 'forward foreman.example.test']);
    // Another connection is resolved on its own.
    expect(await trust.check(settings, plain('192.0.2.5'), '/x', {})).toBeUndefined();
    expect(lookups).toHaveLength(4);
  });

  it('looks again after a refusal, after forward_verify changes, and once the name is older than its time', async () => {
    const { r, lookups } = counted();
    const trust = new ConnectionTrust(r);
    const unnamed = {};
    expect(await trust.check(settings, plain('192.0.2.7'), '/x', unnamed)).toMatch(/^unable to resolve hostname for ip address 192\.0\.2\.7/);
    expect(await trust.check(settings, plain('192.0.2.7'), '/x', unnamed)).toMatch(/^unable to resolve hostname/);
    expect(lookups).toEqual(['reverse 192.0.2.7', 'reverse 192.0.2.7']);

    const spoof = {};
    const spoofList = { trusted_hosts: ['spoof.example.test'], forward_verify: false };
    expect(await trust.check(spoofList, plain('192.0.2.6'), '/x', spoof)).toBeUndefined();
    // Forward verification asked for now: the kept name does not count.
    expect(await trust.check({ ...spoofList, forward_verify: true }, plain('192.0.2.6'), '/x', spoof)).toMatch(/^untrusted client has no matching forward DNS lookup/);

    const expiring = new ConnectionTrust(r, 0);
    const connection = {};
    const before = lookups.length;
    await expiring.check(settings, plain('192.0.2.5'), '/x', connection);
    await expiring.check(settings, plain('192.0.2.5'), '/x', connection);
    expect(lookups.length - before).toBe(4);
  });

  it('HTTPS decides from the certificate without a lookup', () => {
    const { r, lookups } = counted();
    const trust = new ConnectionTrust(r);
    expect(trust.check(settings, https('foreman.example.test'), '/x', {})).toBeUndefined();
    expect(trust.check(settings, https(null), '/x', {})).toBe('could not read client cert from environment');
    expect(lookups).toEqual([]);
  });
});
