import { describe, it, expect } from '@jest/globals';
import { checkTrustedClient, type NameResolver } from '../../src/http/trusted-hosts.js';

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
