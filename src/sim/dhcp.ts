// /dhcp with the dhcp_isc provider's observable behaviour (SP modules/dhcp/dhcp_api.rb and
// dhcp_common/server.rb). `json: true` on a halt marks routes that set JSON before failing.
import { Router, type Request, type Response } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { subnetBounds, subnetIncludes, type Reservation, type Subnet } from './dhcp-store.js';
import { halt, ok, okJson, CT_JSON } from './headers.js';
import { ipToInt, isIPv4 } from './ipv4.js';
import { isValidMac } from './mac.js';
import { paramString } from './params.js';
import { requestState } from './request-state.js';

class DhcpError extends Error {}
class Collision extends Error {}
class SubnetNotFound extends Error {}

export function dhcpRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const store = ctx.dhcp;

  /** validate_supported_address: IPv4 only for dhcp_isc. */
  function validateAddresses(...ips: (string | undefined)[]): void {
    for (const ip of ips) if (!isIPv4(ip)) throw new DhcpError(`Invalid IP Address ${ip ?? ''}`);
  }

  function getSubnet(address: string): Subnet {
    const s = store.findSubnet(address);
    if (!s) throw new SubnetNotFound(`No such subnet: ${address}`);
    return s;
  }

  function findByMac(s: Subnet, mac: string) {
    return store.hostByMac(s, mac) ?? store.leaseByMac(s, mac);
  }

  /** Hosts with that IP, else the lease on it: a reservation hides a lease. */
  function findByIp(s: Subnet, ip: string) {
    const hosts = store.hostsByIp(s, ip);
    if (hosts.length > 0) return hosts.map((h) => ({ kind: 'host' as const, rec: h }));
    const lease = store.leaseByIp(s, ip);
    return lease ? [{ kind: 'lease' as const, rec: lease }] : [];
  }

  function recordJson(rec: ReturnType<typeof findByMac>): Record<string, unknown> {
    if (rec === undefined) return {};
    return 'starts' in rec ? store.leaseJson(rec) : store.reservationJson(rec as Reservation);
  }

  /** del_record: leases are not deleteable; hosts go by hardware address (OMAPI). */
  function deleteRecord(rec: NonNullable<ReturnType<typeof findByMac>>): void {
    if ('starts' in rec) throw new DhcpError(`${rec.ip} / ${rec.mac} is static - unable to delete`);
    store.removeByMac(rec.mac);
  }

  /**
   * Generic failure handling of each route: unknown subnet 404 on reads, Collision 409, the
   * rest 400. `jsonSet` says whether the route had already set JSON when it failed.
   */
  function fail(req: Request, res: Response, err: unknown, network: string, jsonSet: boolean): void {
    if (err instanceof SubnetNotFound) return halt(req, res, 404, `Subnet ${network} could not found`, { json: jsonSet });
    halt(req, res, err instanceof Collision ? 409 : 400, (err as Error).message, { json: jsonSet });
  }

  r.use(gate(ctx.options.trustedHosts));

  // Rack::MethodOverride is part of this app only: POST with _method=DELETE is a DELETE.
  r.use((req, res, next) => {
    if (req.method === 'POST') {
      const override = paramString(requestState(res).form, '_method') ?? (req.headers['x-http-method-override'] as string | undefined);
      const m = override?.toUpperCase();
      if (m && ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'LINK', 'UNLINK'].includes(m)) req.method = m;
    }
    next();
  });

  r.get('/', (req, res) => {
    okJson(
      res,
      store.subnets.map((s) => ({ network: s.network, netmask: s.netmask, options: s.options })),
    );
  });

  r.get('/:network', (req, res) => {
    const { network } = req.params;
    let jsonSet = false;
    try {
      validateAddresses(network);
      jsonSet = true;
      const s = getSubnet(network);
      okJson(res, {
        reservations: store.hostsIn(s).map((h) => store.reservationJson(h)),
        leases: store.leasesIn(s).map((l) => store.leaseJson(l)),
      });
    } catch (err) {
      fail(req, res, err, network, jsonSet);
    }
  });

  r.get('/:network/unused_ip', (req, res) => {
    const { network } = req.params;
    const st = requestState(res);
    const from = paramString(st.params, 'from');
    const to = paramString(st.params, 'to');
    const mac = paramString(st.params, 'mac');
    let jsonSet = false;
    try {
      validateAddresses(network);
      if (from !== undefined && to !== undefined) validateAddresses(from, to);
      if (mac !== undefined && !isValidMac(mac)) throw new DhcpError(`Invalid MAC ${mac}`);
      jsonSet = true;
      const s = getSubnet(network);
      // subnet_range_addresses: an explicit range must lie inside the subnet and be ordered.
      if (from !== undefined && to !== undefined) {
        if (!subnetIncludes(s, from) || !subnetIncludes(s, to)) throw new DhcpError('Range does not belong to provided subnet');
        if (ipToInt(from) > ipToInt(to)) throw new DhcpError(`${from} can't be lower IP address than ${to} - change the order?`);
      }
      const [first, last] = subnetBounds(s);
      const lo = from !== undefined && isIPv4(from) ? Math.max(first, ipToInt(from)) : first;
      const hi = to !== undefined && isIPv4(to) ? Math.min(last, ipToInt(to)) : last;
      if (mac !== undefined) {
        const known = findByMac(s, mac);
        if (known && ipToInt(known.ip) >= lo && ipToInt(known.ip) <= hi) {
          st.log('DEBUG', `Found an existing DHCP record ${known.ip} / ${known.mac}, reusing...`);
          return okJson(res, { ip: known.ip });
        }
      }
      const taken = new Set([...store.hostsIn(s).map((h) => h.ip), ...store.leasesIn(s).map((l) => l.ip)]);
      okJson(res, { ip: store.findFreeIp(lo, hi, taken) });
    } catch (err) {
      fail(req, res, err, network, jsonSet);
    }
  });

  // Deprecated single-record lookup by IP or MAC.
  r.get('/:network/:record', (req, res) => {
    const { network, record } = req.params;
    try {
      const s = getSubnet(network);
      const found = findByIp(s, record)[0]?.rec ?? findByMac(s, record);
      if (!found) return halt(req, res, 404, `No DHCP record for ${network}/${record} found`, { json: true });
      const hostname = 'hostname' in found ? found.hostname : recordJson(found).name;
      okJson(res, { hostname, ip: found.ip, mac: found.mac });
    } catch (err) {
      fail(req, res, err, network, true);
    }
  });

  r.get('/:network/ip/:ip', (req, res) => {
    const { network, ip } = req.params;
    let jsonSet = false;
    try {
      validateAddresses(network, ip);
      jsonSet = true;
      const records = findByIp(getSubnet(network), ip);
      if (records.length === 0) return halt(req, res, 404, `No DHCP records for IP ${network}/${ip} found`, { json: true });
      okJson(res, records.map((x) => recordJson(x.rec)));
    } catch (err) {
      fail(req, res, err, network, jsonSet);
    }
  });

  r.get('/:network/mac/:mac', (req, res) => {
    const { network } = req.params;
    const mac = req.params.mac.toLowerCase();
    let jsonSet = false;
    try {
      validateAddresses(network);
      if (!isValidMac(mac)) throw new DhcpError(`Invalid MAC ${mac}`);
      jsonSet = true;
      const rec = findByMac(getSubnet(network), mac);
      if (!rec) return halt(req, res, 404, `No DHCP record for MAC ${network}/${mac} found`, { json: true });
      okJson(res, recordJson(rec));
    } catch (err) {
      fail(req, res, err, network, jsonSet);
    }
  });

  r.post('/:network', (req, res) => {
    const { network } = req.params;
    const st = requestState(res);
    const p = st.params;
    let jsonSet = false;
    try {
      validateAddresses(network);
      jsonSet = true;
      const related = p.get('related_macs');
      const relatedMacs = (Array.isArray(related) ? related : typeof related === 'string' ? [related] : []).map((m) =>
        m.toLowerCase(),
      );
      const name = paramString(p, 'name') ?? paramString(p, 'hostname');
      const hostname = paramString(p, 'hostname') ?? paramString(p, 'name');
      const ip = paramString(p, 'ip');
      const mac = paramString(p, 'mac');
      if (!isValidMac(mac)) throw new DhcpError(`Invalid MAC ${mac ?? ''}`);
      if (!isIPv4(ip)) throw new DhcpError(`Invalid IP Address ${ip ?? ''}`);
      if (name === undefined || hostname === undefined) throw new DhcpError('Must provide hostname');
      // The URL's network overrides a `network` form field.
      const s = store.findSubnet(network);
      if (!s) throw new DhcpError(`No Subnet detected for: ${network}`);
      const similar = [...store.hostsByIp(s, ip), store.hostByMac(s, mac)]
        .filter((h): h is Reservation => h !== undefined)
        .filter((h) => !relatedMacs.includes(h.mac));
      // dhcpd's host records carry more fields than a request, so even an identical one differs.
      if (similar.length > 0) throw new Collision(`Record ${s.network}/${ip} already exists`);
      if (store.anyHostWithMac(mac)) throw new Collision('Hardware address conflict.');
      store.add({
        name,
        ip,
        mac,
        hostname,
        filename: paramString(p, 'filename'),
        nextServer: paramString(p, 'nextServer'),
      });
      st.log('INFO', `Added DHCP reservation for ${name} => ${ip} / ${mac.toLowerCase()}`);
    } catch (err) {
      return fail(req, res, err, network, jsonSet);
    }
    ok(res, '', CT_JSON);
  });

  // Deprecated delete by IP or MAC.
  r.delete('/:network/:record', (req, res) => {
    const { network, record } = req.params;
    try {
      const s = getSubnet(network);
      const found = findByIp(s, record)[0]?.rec ?? findByMac(s, record);
      if (!found) return halt(req, res, 404, `No DHCP record for ${network}/${record} found`);
      deleteRecord(found);
    } catch (err) {
      return fail(req, res, err, network, false);
    }
    ok(res);
  });

  r.delete('/:network/ip/:ip', (req, res) => {
    const { network, ip } = req.params;
    try {
      validateAddresses(network, ip);
      const s = store.findSubnet(network);
      // An unknown subnet is a successful no-op.
      if (s) for (const x of findByIp(s, ip)) deleteRecord(x.rec);
    } catch (err) {
      return fail(req, res, err, network, false);
    }
    ok(res);
  });

  r.delete('/:network/mac/:mac', (req, res) => {
    const { network, mac } = req.params;
    try {
      validateAddresses(network);
      if (!isValidMac(mac)) throw new DhcpError(`Invalid MAC ${mac}`);
      const s = store.findSubnet(network);
      const rec = s ? findByMac(s, mac.toLowerCase()) : undefined;
      if (rec) deleteRecord(rec);
    } catch (err) {
      return fail(req, res, err, network, false);
    }
    ok(res);
  });

  return r;
}
