// Snapshot reads and rollbacks of the replicated writes (TFTP, DHCP), and the unused_ip cross
// check: a rollback restores what a backend held before, and deletes only what the write made.
import { describe, it, expect } from '@jest/globals';
import type { BackendCall } from '../../src/features/route.js';
import { answer, callFor, type CallSpec } from './calls.js';

function undo(spec: CallSpec) {
  const { found, call } = callFor(spec);
  const route = found.route;
  return {
    name: route.name,
    snapshot: route.snapshot!(call),
    restore: (status: number, body: string | object = '') => route.restore!(call, answer(status, body)),
  };
}

/** BackendCall with its form as a plain object, for readable expectations. */
function plain(calls: BackendCall[]) {
  return calls.map((c) => ({ ...c, form: c.form ? Object.fromEntries(c.form) : undefined }));
}

const MAC = '00:11:22:33:44:55';

describe('TFTP per-MAC configs', () => {
  it('create: reads the config through the same path first', () => {
    expect(undo({ method: 'POST', path: `/tftp/PXELinux/${MAC}`, form: { pxeconfig: 'new\n' } }).snapshot).toEqual({
      method: 'GET',
      path: `/tftp/PXELinux/${MAC}`,
    });
  });

  it('create over an existing config: writes the old config back', () => {
    const u = undo({ method: 'POST', path: `/tftp/PXEGrub2/${MAC}`, form: { pxeconfig: 'new\n' } });
    expect(plain(u.restore(200, 'old config\nline 2\n'))).toEqual([
      { method: 'POST', path: `/tftp/PXEGrub2/${MAC}`, form: { pxeconfig: 'old config\nline 2\n' } },
    ]);
  });

  it('create where there was none: deletes only what it made', () => {
    const u = undo({ method: 'POST', path: `/tftp/iPXE/${MAC}`, form: { pxeconfig: 'new\n' } });
    expect(u.restore(404, `TFTP: Failed to retrieve pxe config file: File /x not found`)).toEqual([
      { method: 'DELETE', path: `/tftp/iPXE/${MAC}` },
    ]);
  });

  it('create over an empty config writes the empty config back, not a delete', () => {
    const u = undo({ method: 'POST', path: `/tftp/PXELinux/${MAC}`, form: { pxeconfig: 'new\n' } });
    expect(plain(u.restore(200, ''))).toEqual([{ method: 'POST', path: `/tftp/PXELinux/${MAC}`, form: { pxeconfig: '' } }]);
  });

  it('delete: writes the deleted config back, or does nothing when there was none', () => {
    const u = undo({ method: 'DELETE', path: `/tftp/PXELinux/${MAC}` });
    expect(u.snapshot).toEqual({ method: 'GET', path: `/tftp/PXELinux/${MAC}` });
    expect(plain(u.restore(200, 'was here\n'))).toEqual([{ method: 'POST', path: `/tftp/PXELinux/${MAC}`, form: { pxeconfig: 'was here\n' } }]);
    expect(u.restore(404)).toEqual([]);
  });

  it('legacy routes (syslinux, no GET of their own) read through /tftp/syslinux/:mac', () => {
    const create = undo({ method: 'POST', path: `/tftp/${MAC}`, form: { pxeconfig: 'new\n' } });
    expect(create.name).toBe('tftp.create.legacy');
    expect(create.snapshot).toEqual({ method: 'GET', path: `/tftp/syslinux/${MAC}` });
    expect(create.restore(404)).toEqual([{ method: 'DELETE', path: `/tftp/${MAC}` }]);
    expect(plain(create.restore(200, 'old\n'))).toEqual([{ method: 'POST', path: `/tftp/${MAC}`, form: { pxeconfig: 'old\n' } }]);

    const del = undo({ method: 'DELETE', path: `/tftp/${MAC}` });
    expect(del.snapshot).toEqual({ method: 'GET', path: `/tftp/syslinux/${MAC}` });
    expect(del.restore(404)).toEqual([]);
  });

  it('keeps the path as received (percent-encoding included)', () => {
    const u = undo({ method: 'POST', path: '/tftp/PXELinux/00%3A11%3A22%3A33%3A44%3A55', form: { syslinux_config: 'x' } });
    expect(u.snapshot.path).toBe('/tftp/PXELinux/00%3A11%3A22%3A33%3A44%3A55');
  });
});

const NET = '192.0.2.0';
const RESERVATION = {
  name: 'host1.example.test',
  ip: '192.0.2.20',
  mac: '52:54:00:aa:00:01',
  subnet: '192.0.2.0/255.255.255.0',
  type: 'reservation',
  deleteable: true,
  hostname: 'host1.example.test',
  hardware_type: 'ethernet',
  filename: 'pxelinux.0',
  nextServer: '192.0.2.1',
};
const RESERVATION_FORM = {
  name: 'host1.example.test',
  ip: '192.0.2.20',
  mac: '52:54:00:aa:00:01',
  hostname: 'host1.example.test',
  filename: 'pxelinux.0',
  nextServer: '192.0.2.1',
};
const LEASE = {
  name: 'lease-525400000099',
  ip: '192.0.2.150',
  mac: '52:54:00:00:00:99',
  subnet: '192.0.2.0/255.255.255.0',
  starts: '2026-11-21 10:51:09 UTC',
  ends: '2031-11-22 10:51:09 UTC',
  state: 'active',
  type: 'lease',
  hardware_type: 'ethernet',
  client_hostname: '"leased1"',
};

describe('DHCP create', () => {
  const create = (mac = '52:54:00:AA:00:01') =>
    undo({ method: 'POST', path: `/dhcp/${NET}`, form: { hostname: 'new.example.test', mac, ip: '192.0.2.30', network: NET } });

  it('reads the reservation of the MAC it is about to write', () => {
    expect(create().snapshot).toEqual({ method: 'GET', path: `/dhcp/${NET}/mac/52:54:00:AA:00:01` });
  });

  it('nothing there before: deletes the reservation it made', () => {
    expect(create().restore(404, `No DHCP record for MAC ${NET}/52:54:00:aa:00:01 found`)).toEqual([
      { method: 'DELETE', path: `/dhcp/${NET}/mac/52:54:00:AA:00:01` },
    ]);
  });

  it('a reservation there before: deletes what is there now, then re-creates the old one field by field', () => {
    expect(plain(create().restore(200, RESERVATION))).toEqual([
      { method: 'DELETE', path: `/dhcp/${NET}/mac/52:54:00:AA:00:01`, form: undefined },
      { method: 'POST', path: `/dhcp/${NET}`, form: RESERVATION_FORM },
    ]);
  });

  it('only a lease there before: the lease is the server’s, so only the new reservation goes', () => {
    expect(create().restore(200, LEASE)).toEqual([{ method: 'DELETE', path: `/dhcp/${NET}/mac/52:54:00:AA:00:01` }]);
  });

  it('a snapshot that is not a record: leaves the backend alone rather than delete what may have been there', () => {
    expect(create().restore(200, 'not json')).toEqual([]);
  });

  it('carries extra options and nested values back in Rack notation', () => {
    const withOptions = { ...RESERVATION, '<SUNW>root_server_ip': '192.0.2.5', ztp_firmware: { core: 'a.cc', web: 'b.web' }, tags: ['x', 'y'] };
    const steps = plain(create().restore(200, withOptions));
    expect(steps[1]!.form).toEqual({
      ...RESERVATION_FORM,
      '<SUNW>root_server_ip': '192.0.2.5',
      'ztp_firmware[core]': 'a.cc',
      'ztp_firmware[web]': 'b.web',
      'tags[]': 'y',
    });
    const tags = create().restore(200, withOptions)[1]!.form!.getAll('tags[]');
    expect(tags).toEqual(['x', 'y']);
  });

  it('also for the trailing-slash form Foreman never sends but SP accepts', () => {
    const u = undo({ method: 'POST', path: `/dhcp/${NET}/`, form: { hostname: 'h', mac: '52:54:00:aa:00:09', ip: '192.0.2.31' } });
    expect(u.snapshot).toEqual({ method: 'GET', path: `/dhcp/${NET}/mac/52:54:00:aa:00:09` });
    expect(plain(u.restore(200, RESERVATION))[1]).toEqual({ method: 'POST', path: `/dhcp/${NET}`, form: RESERVATION_FORM });
  });
});

describe('DHCP deletes', () => {
  it('by MAC: re-creates the reservation it removed', () => {
    const u = undo({ method: 'DELETE', path: `/dhcp/${NET}/mac/52:54:00:aa:00:01` });
    expect(u.snapshot).toEqual({ method: 'GET', path: `/dhcp/${NET}/mac/52:54:00:aa:00:01` });
    expect(plain(u.restore(200, RESERVATION))).toEqual([{ method: 'POST', path: `/dhcp/${NET}`, form: RESERVATION_FORM }]);
  });

  it('by MAC: nothing to put back when there was nothing, or only a lease (which SP refuses to delete)', () => {
    const u = undo({ method: 'DELETE', path: `/dhcp/${NET}/mac/52:54:00:aa:00:01` });
    expect(u.restore(404)).toEqual([]);
    expect(u.restore(200, LEASE)).toEqual([]);
  });

  it('by IP: re-creates every reservation that held the IP, skipping leases', () => {
    const u = undo({ method: 'DELETE', path: `/dhcp/${NET}/ip/192.0.2.20` });
    expect(u.snapshot).toEqual({ method: 'GET', path: `/dhcp/${NET}/ip/192.0.2.20` });
    const second = { ...RESERVATION, name: 'host2.example.test', hostname: 'host2.example.test', mac: '52:54:00:aa:00:02' };
    expect(plain(u.restore(200, [RESERVATION, LEASE, second]))).toEqual([
      { method: 'POST', path: `/dhcp/${NET}`, form: RESERVATION_FORM },
      { method: 'POST', path: `/dhcp/${NET}`, form: { ...RESERVATION_FORM, name: 'host2.example.test', hostname: 'host2.example.test', mac: '52:54:00:aa:00:02' } },
    ]);
    expect(u.restore(404, `No DHCP records for IP ${NET}/192.0.2.20 found`)).toEqual([]);
  });

  it('work the same for the _method=DELETE form (the call arrives as a DELETE without a body to read)', () => {
    const u = undo({ method: 'DELETE', path: `/dhcp/${NET}/mac/52:54:00:aa:00:04`, form: { _method: 'DELETE' } });
    expect(u.snapshot).toEqual({ method: 'GET', path: `/dhcp/${NET}/mac/52:54:00:aa:00:04` });
  });
});

describe('DHCP unused_ip is confirmed on the other backends', () => {
  const { found, call } = callFor({ method: 'GET', path: `/dhcp/${NET}/unused_ip`, query: { mac: '52:54:00:aa:00:01' } });
  const confirm = found.route.confirm!;

  it('checks that no backend holds a record for the offered IP', () => {
    expect(confirm.check(call, answer(200, { ip: '192.0.2.43' }))).toEqual({ method: 'GET', path: `/dhcp/${NET}/ip/192.0.2.43` });
    expect(confirm.accepts(answer(404, `No DHCP records for IP ${NET}/192.0.2.43 found`))).toBe(true);
    expect(confirm.accepts(answer(200, [RESERVATION]))).toBe(false);
    expect(confirm.accepts(answer(400, 'Invalid IP Address x'))).toBe(false);
  });

  it('has nothing to check when no IP was offered', () => {
    expect(confirm.check(call, answer(200, { ip: null }))).toBeUndefined();
    expect(confirm.check(call, answer(200, {}))).toBeUndefined();
    expect(confirm.check(call, answer(200, 'garbage'))).toBeUndefined();
  });
});
