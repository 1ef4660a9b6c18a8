// The route pattern compiler the router runs for every request.
import { describe, it, expect } from '@jest/globals';
import { compilePattern, percentDecode } from '../../src/features/pattern.js';

describe('compilePattern', () => {
  it('matches literal paths exactly, case-sensitively', () => {
    const m = compilePattern('/tftp/serverName');
    expect(m('/tftp/serverName')).toEqual({});
    expect(m('/tftp/servername')).toBeUndefined();
    expect(m('/tftp/serverName/x')).toBeUndefined();
    expect(m('/tftp')).toBeUndefined();
  });

  it('does not match a trailing slash unless the pattern allows one (recorded: /tftp/serverName/ is 404)', () => {
    expect(compilePattern('/tftp/serverName')('/tftp/serverName/')).toBeUndefined();
    const logs = compilePattern('/logs/?');
    expect(logs('/logs')).toEqual({});
    expect(logs('/logs/')).toEqual({});
    expect(logs('/logs//')).toBeUndefined();
    expect(logs('/logsx')).toBeUndefined();
  });

  it('captures one non-empty segment per :name, percent-decoded', () => {
    const m = compilePattern('/tftp/:variant/:mac');
    expect(m('/tftp/PXELinux/00:11:22:33:44:55')).toEqual({ variant: 'PXELinux', mac: '00:11:22:33:44:55' });
    expect(m('/tftp/PXELinux/00%3A11%3a22%3A33%3A44%3A55')).toEqual({ variant: 'PXELinux', mac: '00:11:22:33:44:55' });
    expect(m('/tftp//00:11:22:33:44:55')).toBeUndefined();
    expect(m('/tftp/a/b/c')).toBeUndefined();
    expect(compilePattern('/unattended/:kind/:template/:hostgroup')('/unattended/provision/Kickstart%20default/base%20group')).toEqual({
      kind: 'provision',
      template: 'Kickstart default',
      hostgroup: 'base group',
    });
  });

  it('a trailing /? after a parameter makes the final slash optional', () => {
    const m = compilePattern('/dhcp/:network/?');
    expect(m('/dhcp/192.0.2.0')).toEqual({ network: '192.0.2.0' });
    expect(m('/dhcp/192.0.2.0/')).toEqual({ network: '192.0.2.0' });
    expect(m('/dhcp/')).toBeUndefined();
  });

  it('a *splat takes the rest of the path, slashes included, possibly empty', () => {
    const m = compilePattern('/httpboot/*path');
    expect(m('/httpboot/grub2/grubx64.efi')).toEqual({ path: 'grub2/grubx64.efi' });
    expect(m('/httpboot/')).toEqual({ path: '' });
    expect(m('/httpboot/a%2Fb%20c')).toEqual({ path: 'a/b c' });
    expect(m('/httpboot')).toBeUndefined();
    expect(m('/httpbootx/a')).toBeUndefined();
  });

  it('treats regular-expression characters in literals literally', () => {
    const m = compilePattern('/a.b/c');
    expect(m('/a.b/c')).toEqual({});
    expect(m('/axb/c')).toBeUndefined();
  });

  it('refuses patterns it cannot compile faithfully', () => {
    expect(() => compilePattern('tftp')).toThrow();
    expect(() => compilePattern('/a/*rest/b')).toThrow();
    expect(() => compilePattern('/a/:x/:x')).toThrow();
    expect(() => compilePattern('/a/:')).toThrow();
    expect(() => compilePattern('/a/b:c')).toThrow();
    expect(() => compilePattern('/a//b')).toThrow();
    expect(() => compilePattern('/a/*rest/?')).toThrow();
  });

  it('returns a fresh params object per match', () => {
    const m = compilePattern('/facts/:fact');
    const a = m('/facts/a');
    const b = m('/facts/b');
    expect(a).toEqual({ fact: 'a' });
    expect(b).toEqual({ fact: 'b' });
  });

  it('gives the same answer on every call (no state kept between matches)', () => {
    // How fast matching is belongs to the benchmarks, not to a pass/fail test.
    const m = compilePattern('/dhcp/:network/mac/:mac');
    for (let i = 0; i < 1000; i++) expect(m('/dhcp/192.0.2.0/mac/52:54:00:aa:00:01')).toEqual({ network: '192.0.2.0', mac: '52:54:00:aa:00:01' });
    expect(m('/dhcp/192.0.2.0/mac')).toBeUndefined();
  });
});

describe('percentDecode', () => {
  it('decodes UTF-8 escapes and leaves + alone (path, not form, decoding)', () => {
    expect(percentDecode('caf%C3%A9+x')).toBe('café+x');
  });

  it('keeps malformed escapes and non-UTF-8 bytes as written', () => {
    expect(percentDecode('100%')).toBe('100%');
    expect(percentDecode('%zz%41')).toBe('%zzA');
    expect(percentDecode('%ff')).toBe('%ff');
  });
});
