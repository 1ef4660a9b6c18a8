// The input validators beyond what the recording shows: SP's exact rules and texts, and the
// cases where SP's outcome is not certain and the request must go to a backend untouched.
import { describe, it, expect } from '@jest/globals';
import { rackParams, NESTED } from '../../src/features/rack-params.js';
import { bootFileName, bootFileOutsideRoot, unknownBootSourceScheme } from '../../src/features/validate/boot-file.js';
import { defaultDeleteType, hasReverseSuffix, isDnsName } from '../../src/features/validate/dns-name.js';
import { isIPv4, isIPv6, isIp } from '../../src/features/validate/ip.js';
import { isValidMac } from '../../src/features/validate/mac.js';
import { cleanSegments, escapesRoot } from '../../src/features/validate/path-safety.js';
import { ipaddrInvalidAddress } from '../../src/features/validate/ruby-ipaddr.js';
import { servedFileRejection } from '../../src/features/validate/served-file.js';
import { srvValueSurelyInvalid } from '../../src/features/validate/srv-value.js';
import { isTftpVariant } from '../../src/features/validate/tftp-variant.js';
import { buildCall, callFor, type CallSpec } from './calls.js';

function validate(spec: CallSpec) {
  const { found, call } = callFor(spec);
  return found.route.validate?.(call);
}

describe('MAC addresses (Proxy::Validations)', () => {
  it.each(['00:11:22:33:44:55', 'AA:bb:CC:dd:EE:ff', '0:1:2:3:4:5', Array(20).fill('ab').join(':')])('accepts %s', (mac) => {
    expect(isValidMac(mac)).toBe(true);
  });
  it.each(['00-11-22-33-44-55', '00:11:22:33:44', '00:11:22:33:44:55:66', '001:11:22:33:44:55', 'zz:11:22:33:44:55', '00:11:22:33:44:55\n', '', undefined])(
    'rejects %p',
    (mac) => expect(isValidMac(mac)).toBe(false),
  );
});

describe('IP addresses (Resolv regexes)', () => {
  it('IPv4 without leading zeros or out-of-range octets', () => {
    for (const ok of ['0.0.0.0', '192.0.2.1', '255.255.255.255', '10.9.8.0']) expect(isIPv4(ok)).toBe(true);
    for (const bad of ['192.0.2.300', '192.0.2.01', '192.0.2', '192.0.2.1.', ' 192.0.2.1', 'not-an-ip', '192.0.2.1\n', '']) expect(isIPv4(bad)).toBe(false);
  });
  it('IPv6 in full, compressed, embedded-IPv4 and link-local forms', () => {
    for (const ok of ['2001:db8::10', '::', '::1', '1:2:3:4:5:6:7:8', '::ffff:192.0.2.1', 'fe80::1%eth0']) expect(isIPv6(ok)).toBe(true);
    for (const bad of ['2001:db8:::1', '1:2:3:4:5:6:7', 'g::1', '192.0.2.1']) expect(isIPv6(bad)).toBe(false);
    expect(isIp('192.0.2.1') && isIp('2001:db8::1')).toBe(true);
    expect(isIp(undefined)).toBe(false);
  });
});

describe("Ruby IPAddr's `invalid address: `", () => {
  it('A: an IPv4-like value with an octet over 255', () => {
    expect(ipaddrInvalidAddress('192.0.2.300', 4)).toBe(true);
    expect(ipaddrInvalidAddress('192.0.2.300/24', 4)).toBe(true);
    expect(ipaddrInvalidAddress('256.0.2.1', 4)).toBe(true);
  });
  it('A: valid values, and failures with other texts, are not claimed', () => {
    for (const v of ['192.0.2.10', '192.0.2.10/24', 'host.example.test', '', '192.0.2.010', '010.0.2.300', '[192.0.2.1]', '192.0.2.1%eth0']) {
      expect([v, ipaddrInvalidAddress(v, 4)]).toEqual([v, false]);
    }
  });
  it('AAAA: anything that is not IPv6-shaped, too many groups, bad embedded IPv4', () => {
    for (const v of ['192.0.2.1', 'host.example.test', '', 'g::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8::', '::ffff:192.0.2.300', '1:2:3:4:5:6:7::1.2.3.4']) {
      expect([v, ipaddrInvalidAddress(v, 6)]).toEqual([v, true]);
    }
    for (const v of ['2001:db8::10', '::', '2001:db8::10/64', '1:2:3:4:5:6:1.2.3.4', '::ffff:192.0.2.1', 'fe80::1%eth0', '[::1]']) {
      expect([v, ipaddrInvalidAddress(v, 6)]).toEqual([v, false]);
    }
  });
});

describe('DNS names', () => {
  it('host names as validate_dns_name! accepts them', () => {
    for (const ok of ['host1.example.test', 'a', 'a-', 'a-.b', 'example.test.', '10.2.0.192.in-addr.arpa']) expect([ok, isDnsName(ok, 'A')]).toEqual([ok, true]);
    for (const bad of ['', '.', '-a', 'a..b', 'a.-b', '_ldap._tcp.example.test', 'a b', 'ex!ample']) expect([bad, isDnsName(bad, 'A')]).toEqual([bad, false]);
  });
  it('SRV names may contain underscores', () => {
    expect(isDnsName('_ldap._tcp.example.test', 'SRV')).toBe(true);
    expect(isDnsName('_ldap..x', 'SRV')).toBe(false);
  });
  it('anchors per line, as Ruby ^ and $ do', () => {
    expect(isDnsName('bad name!\ngood.example.test', 'A')).toBe(true);
    expect(hasReverseSuffix('1.2.0.192.in-addr.arpa\nx')).toBe(true);
  });
  it('reverse names and the default delete type', () => {
    expect(hasReverseSuffix('10.2.0.192.in-addr.arpa')).toBe(true);
    expect(hasReverseSuffix('1.0.0.0.ip6.arpa')).toBe(true);
    expect(hasReverseSuffix('host2.example.test')).toBe(false);
    expect(defaultDeleteType('10.2.0.192.in-addr.arpa')).toBe('PTR');
    expect(defaultDeleteType('host3.example.test')).toBe('A');
  });
  it('answers on long hostile input (a backtracking pattern would run past the test timeout)', () => {
    // How fast is measured by the benchmarks, not here.
    expect(isDnsName('a'.repeat(50_000) + '!', 'A')).toBe(false);
    expect(isDnsName('a.'.repeat(25_000) + '-', 'A')).toBe(false);
  });
});

describe('SRV values', () => {
  it('surely invalid: wrong arity, bad target, numbers out of range or not numbers', () => {
    for (const v of ['0 5 389', '0 5 389 host1.example.test extra', '0 5 389 bad!name', '0 5 0 host.example.test', '70000 5 389 host.example.test', '0 -1 389 h', 'x 5 389 h', '0 5.0 389 h']) {
      expect([v, srvValueSurelyInvalid(v)]).toEqual([v, true]);
    }
  });
  it('valid or unsure (Ruby Integer() forms) is left alone', () => {
    for (const v of ['0 5 389 host1.example.test', '  10 5 389   host2.example.test  ', '0x10 5 389 h', '010 5 389 h', '1_0 5 389 h']) {
      expect([v, srvValueSurelyInvalid(v)]).toEqual([v, false]);
    }
  });
});

describe('TFTP variants', () => {
  it('any case of the known variants, nothing else', () => {
    for (const v of ['PXELinux', 'pxelinux', 'SYSLINUX', 'PXEGrub', 'PXEGrub2', 'iPXE', 'ZTP', 'poap']) expect([v, isTftpVariant(v)]).toEqual([v, true]);
    for (const v of ['Foo', 'Server', 'pxegrub3', '', 'grub2']) expect([v, isTftpVariant(v)]).toEqual([v, false]);
  });
});

describe('paths', () => {
  it('clean lexically, keeping leading ..', () => {
    expect(cleanSegments('a/./b/../c//d')).toEqual(['a', 'c', 'd']);
    expect(cleanSegments('../../outside/evil')).toEqual(['..', '..', 'outside', 'evil']);
    expect(cleanSegments('a/../../b')).toEqual(['..', 'b']);
    expect(escapesRoot('boot/../../x')).toBe(true);
    expect(escapesRoot('boot/os1-vmlinuz')).toBe(false);
  });
  it('boot file names as SP builds them', () => {
    expect(bootFileName('boot/os1', 'http://h/media/vmlinuz')).toBe('boot/os1-vmlinuz');
    expect(bootFileName('boot/os2/', 'http://h/media/vmlinuz')).toBe('boot/os2/vmlinuz');
    expect(bootFileName('boot/os2', 'http://h/media/')).toBe('boot/os2-media');
    expect(bootFileName('p', '')).toBeUndefined();
    expect(bootFileName('p', '///')).toBeUndefined();
  });
  it('a destination outside tftproot, unless resolved elsewhere than tftproot', () => {
    expect(bootFileOutsideRoot('../../outside/evil-vmlinuz')).toBe(true);
    expect(bootFileOutsideRoot('boot/os1-vmlinuz')).toBe(false);
    expect(bootFileOutsideRoot('/var/lib/tftpboot/x')).toBeUndefined();
    expect(bootFileOutsideRoot('~/x')).toBeUndefined();
  });
  it('boot sources SP cannot fetch from', () => {
    for (const s of ['gopher://127.0.0.1/vmlinuz', 'file://host/etc/passwd', 'vmlinuz', '/srv/media/vmlinuz']) expect([s, unknownBootSourceScheme(s)]).toEqual([s, true]);
    for (const s of ['http://127.0.0.1:18099/media/vmlinuz?fake_status=404', 'HTTPS://h/x', 'ftp://h/x', 'nfs://h/x', 'bad uri://x', 'http://h/a b', 'x:y']) {
      expect([s, unknownBootSourceScheme(s)]).toEqual([s, false]);
    }
  });
  it('served files: the root itself or anything outside it is refused with 403', () => {
    for (const p of ['', '.', 'a/..', '../etc/passwd', 'grub2/../../x']) expect(servedFileRejection(p)).toEqual({ status: 403, message: 'Invalid or empty path' });
    for (const p of ['grub2/grubx64.efi', '/etc/passwd', 'a/../b']) expect(servedFileRejection(p)).toBeUndefined();
  });
});

describe('request parameters as Rack reads them', () => {
  const params = (spec: Partial<CallSpec>) => rackParams(buildCall({ method: 'POST', path: '/x', ...spec }, {}))!;

  it('merges query and form, the form and the last repeat winning', () => {
    const p = params({ query: { a: 'q', b: 'q' }, body: 'a=f1&a=f2', contentType: 'application/x-www-form-urlencoded' });
    expect([p.get('a'), p.get('b'), p.get('c')]).toEqual(['f2', 'q', undefined]);
  });
  it('reads a key without = as nil and a=  as empty', () => {
    const p = params({ body: 'pxeconfig&menu=', contentType: 'application/x-www-form-urlencoded' });
    expect([p.has('pxeconfig'), p.get('pxeconfig'), p.get('menu')]).toEqual([true, undefined, '']);
  });
  it('decodes + and %XX, splits the query on ; too', () => {
    const p = rackParams(buildCall({ method: 'GET', path: '/x' }, {}))!;
    expect(p.get('a')).toBeUndefined();
    const q = rackParams({ ...buildCall({ method: 'GET', path: '/x' }, {}), rawQuery: 'a=x+y%21;b=2' })!;
    expect([q.get('a'), q.get('b')]).toEqual(['x y!', '2']);
  });
  it('marks bracketed keys as nested', () => {
    const p = params({ body: 'mac[]=a&fqdn[x]=1&]ip=1.2.3.4', contentType: 'application/x-www-form-urlencoded' });
    expect([p.get('mac'), p.get('fqdn'), p.get('ip')]).toEqual([NESTED, NESTED, '1.2.3.4']);
  });
  it('ignores a body that is not a form', () => {
    const p = params({ body: 'fqdn=a', contentType: 'application/json' });
    expect(p.get('fqdn')).toBeUndefined();
  });
  it('gives up on what Rack would refuse to parse', () => {
    expect(rackParams({ ...buildCall({ method: 'GET', path: '/x' }, {}), rawQuery: 'a=%zz' })).toBeUndefined();
    expect(rackParams({ ...buildCall({ method: 'GET', path: '/x' }, {}), rawQuery: 'a=%ff' })).toBeUndefined();
  });
});

describe('route validators beyond the recording', () => {
  const FORM = 'application/x-www-form-urlencoded';

  it('TFTP checks the MAC before the variant; create_default takes no MAC', () => {
    expect(validate({ method: 'POST', path: '/tftp/Foo/bad', form: { pxeconfig: 'x' } })).toEqual({ status: 403, message: 'Invalid MAC address: bad' });
    expect(validate({ method: 'DELETE', path: '/tftp/Foo/00:11:22:33:44:55' })).toEqual({ status: 403, message: 'Unrecognized pxeboot config type: Foo' });
    expect(validate({ method: 'DELETE', path: '/tftp/create_default' })).toEqual({ status: 403, message: 'Invalid MAC address: create_default' });
    expect(validate({ method: 'POST', path: '/tftp/Foo/create_default', form: { menu: 'm' } })).toEqual({ status: 403, message: 'Unrecognized pxeboot config type: Foo' });
    expect(validate({ method: 'POST', path: '/tftp/create_default', body: '', contentType: FORM })).toEqual({
      status: 400,
      message: 'TFTP: Failed to create PXE default file: Default config not supplied',
    });
  });

  it('TFTP create accepts the legacy syslinux_config, an empty config, and the query string', () => {
    expect(validate({ method: 'POST', path: '/tftp/00:11:22:33:44:55', form: { syslinux_config: 'x' } })).toBeUndefined();
    expect(validate({ method: 'POST', path: '/tftp/PXELinux/00:11:22:33:44:55', form: { pxeconfig: '' } })).toBeUndefined();
    expect(validate({ method: 'POST', path: '/tftp/PXELinux/00:11:22:33:44:55', query: { pxeconfig: 'x' } })).toBeUndefined();
    expect(validate({ method: 'POST', path: '/tftp/00:11:22:33:44:55', body: 'pxeconfig', contentType: FORM })).toEqual({
      status: 400,
      message: 'TFTP: Failed to create pxe config file: Invalid parameters received',
    });
  });

  it('fetch_boot_file: traversal is judged before the scheme; missing parameters go to the backend', () => {
    expect(validate({ method: 'POST', path: '/tftp/fetch_boot_file', form: { prefix: '../x', path: 'gopher://h/k' } })).toEqual({
      status: 400,
      message: 'TFTP: Failed to fetch boot file: TFTP destination outside of tftproot',
    });
    expect(validate({ method: 'POST', path: '/tftp/fetch_boot_file', form: { path: 'gopher://h/k' } })).toBeUndefined();
    expect(validate({ method: 'POST', path: '/tftp/fetch_boot_file', form: { prefix: '/abs/x', path: 'gopher://h/k' } })).toBeUndefined();
    expect(validate({ method: 'POST', path: '/tftp/fetch_boot_file', form: { prefix: 'boot/x', path: 'nfs://h/k' } })).toBeUndefined();
  });

  it('DHCP create: MAC, then IP, then host name; the URL subnet first of all', () => {
    const base = { method: 'POST' as const, path: '/dhcp/192.0.2.0' };
    expect(validate({ ...base, form: {} , body: 'x=1', contentType: FORM })).toEqual({ status: 400, message: 'Invalid MAC ' });
    expect(validate({ ...base, form: { mac: '52:54:00:aa:00:05' } })).toEqual({ status: 400, message: 'Invalid IP Address ' });
    expect(validate({ ...base, form: { mac: '52:54:00:aa:00:05', ip: '2001:db8::5', name: 'h' } })).toBeUndefined();
    expect(validate({ ...base, form: { mac: '52:54:00:aa:00:05', ip: '192.0.2.5', name: 'h' } })).toBeUndefined();
    expect(validate({ method: 'POST', path: '/dhcp/not-a-net', form: { mac: 'bad' } })).toEqual({ status: 400, message: 'Invalid IP Address not-a-net' });
    expect(validate({ ...base, form: { 'mac[]': 'x', ip: 'bad' } })).toBeUndefined();
  });

  it('DHCP lookups and deletes check the subnet, then the IP or MAC', () => {
    expect(validate({ method: 'GET', path: '/dhcp/192.0.2.0/ip/192.0.2.300' })).toEqual({ status: 400, message: 'Invalid IP Address 192.0.2.300' });
    expect(validate({ method: 'DELETE', path: '/dhcp/x/ip/192.0.2.300' })).toEqual({ status: 400, message: 'Invalid IP Address x' });
    expect(validate({ method: 'GET', path: '/dhcp/192.0.2.0/mac/ZZ:ZZ' })).toEqual({ status: 400, message: 'Invalid MAC zz:zz' });
    expect(validate({ method: 'DELETE', path: '/dhcp/192.0.2.0/mac/ZZ' })).toEqual({ status: 400, message: 'Invalid MAC ZZ' });
    expect(validate({ method: 'GET', path: '/dhcp/192.0.2.0/mac/52:54:00:AA:00:01' })).toBeUndefined();
  });

  it('DHCP unused_ip: subnet, then the range (only when both ends are given), then the MAC', () => {
    const path = '/dhcp/192.0.2.0/unused_ip';
    expect(validate({ method: 'GET', path, query: { from: '192.0.2.20', to: 'x' } })).toEqual({ status: 400, message: 'Invalid IP Address x' });
    expect(validate({ method: 'GET', path, query: { from: 'x' } })).toBeUndefined();
    expect(validate({ method: 'GET', path, query: { mac: 'm' } })).toEqual({ status: 400, message: 'Invalid MAC m' });
    expect(validate({ method: 'GET', path, query: { mac: '' } })).toEqual({ status: 400, message: 'Invalid MAC ' });
  });

  it('DNS create: each type checked as SP does', () => {
    const dns = (form: Record<string, string>) => validate({ method: 'POST', path: '/dns/', form });
    expect(dns({ fqdn: 'bad name', value: '192.0.2.1', type: 'MX' })).toEqual({ status: 400, message: 'Invalid DNS name bad name' });
    expect(dns({ fqdn: 'h.example.test', value: '192.0.2.1', type: 'mx' })).toEqual({ status: 400, message: "unrecognized 'type' parameter: MX" });
    expect(dns({ fqdn: 'h.example.test', value: '192.0.2.1', type: 'AAAA' })).toEqual({ status: 400, message: 'invalid address: ' });
    expect(dns({ fqdn: 'h.example.test', value: '2001:db8::1', type: 'aaaa' })).toBeUndefined();
    expect(dns({ fqdn: 'alias.example.test', value: 'bad target!', type: 'CNAME' })).toEqual({ status: 400, message: 'Invalid DNS name bad target!' });
    expect(dns({ fqdn: 'h.example.test', value: 'h2.example.test', type: 'PTR' })).toEqual({ status: 400, message: 'Invalid reverse DNS h2.example.test' });
    expect(dns({ fqdn: '_x._tcp.example.test', value: '0 5 389', type: 'SRV' })).toEqual({ status: 400, message: 'Invalid DNS SRV value 0 5 389' });
    expect(dns({ fqdn: '_x _tcp', value: '0 5 389 h', type: 'SRV' })).toEqual({ status: 400, message: 'Invalid DNS srv name _x _tcp' });
    expect(dns({ fqdn: 'h.example.test', value: 'not-an-ip', type: 'A' })).toBeUndefined(); // SP: "address family mismatch"
    expect(dns({ fqdn: '', value: '', type: '' })).toEqual({ status: 400, message: 'Invalid DNS name ' });
    // SP calls .upcase on the type first: a nested type fails in Ruby before the missing fqdn.
    expect(dns({ 'type[x]': 'A' })).toBeUndefined();
    expect(dns({ fqdn: 'h.example.test', 'value[]': 'x', type: 'A' })).toBeUndefined();
  });

  it('DNS delete: type as written in the path, defaulting by name; unsure when a type parameter is sent', () => {
    expect(validate({ method: 'DELETE', path: '/dns/host1.example.test/a' })).toEqual({ status: 400, message: "unrecognized 'type' parameter: a" });
    expect(validate({ method: 'DELETE', path: '/dns/bad!name/A' })).toEqual({ status: 400, message: 'Invalid DNS name bad!name' });
    expect(validate({ method: 'DELETE', path: '/dns/_srv._tcp.example.test/SRV' })).toBeUndefined();
    expect(validate({ method: 'DELETE', path: '/dns/_srv._tcp.example.test' })).toEqual({ status: 400, message: 'Invalid DNS name _srv._tcp.example.test' });
    expect(validate({ method: 'DELETE', path: '/dns/10.2.0.192.in-addr.arpa/' })).toBeUndefined();
    expect(validate({ method: 'DELETE', path: '/dns/_srv._tcp.example.test', query: { type: 'SRV' } })).toBeUndefined();
  });

  it('HTTPBoot refuses traversal (also percent-encoded) and the bare root with 403', () => {
    const refused = { status: 403, message: 'Invalid or empty path' };
    expect(validate({ method: 'GET', path: '/httpboot/%2e%2e/%2e%2e/etc/passwd' })).toEqual(refused);
    expect(validate({ method: 'GET', path: '/EFI/..%2f..%2fetc/shadow' })).toEqual(refused);
    expect(validate({ method: 'GET', path: '/httpboot/' })).toEqual(refused);
    expect(validate({ method: 'GET', path: '/httpboot/grub2/grub.cfg-01-aa-bb-cc-dd-ee-ff' })).toBeUndefined();
  });
});
