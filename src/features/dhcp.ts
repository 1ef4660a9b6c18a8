// DHCP (/dhcp): reservations on the DHCP server(s) the backends drive. When each backend
// drives its own dhcpd the feature is replicated, so every write reads the reservation it is
// about to change first and a rollback puts exactly that back. Checks follow SP's order: the
// subnet address, then (create) MAC, IP, host name; the texts are SP's own.
import { isReservation, recordOf, recordsOf, reservationForm, type DhcpRecord } from './dhcp-reservation.js';
import { segment } from './path-segment.js';
import { rackParams } from './rack-params.js';
import { reject } from './rejection.js';
import { dhcpInspector } from './dhcp-drift.js';
import type { FeatureModule } from './module.js';
import type { BackendAnswer, BackendCall, IncomingCall, LedgerChange, Rejection } from './route.js';
import { isIPv4, isIp } from './validate/ip.js';
import { isValidMac } from './validate/mac.js';

/** validate_supported_address: the ISC provider takes IPv4 only. */
function checkAddresses(...addresses: (string | undefined)[]): Rejection | undefined {
  for (const a of addresses) if (!isIPv4(a)) return reject(400, `Invalid IP Address ${a ?? ''}`);
  return undefined;
}

function checkMac(mac: string | undefined): Rejection | undefined {
  return isValidMac(mac) ? undefined : reject(400, `Invalid MAC ${mac ?? ''}`);
}

function checkCreate(call: IncomingCall): Rejection | undefined {
  const bad = checkAddresses(call.params.network);
  if (bad) return bad;
  const p = rackParams(call);
  if (!p) return undefined;
  const mac = p.get('mac');
  const ip = p.get('ip');
  const name = p.get('name');
  const hostname = p.get('hostname');
  // A nested value fails in Ruby with a text of its own: leave it to the backend.
  if (typeof mac === 'symbol' || typeof ip === 'symbol') return undefined;
  if (!isValidMac(mac)) return checkMac(mac);
  if (!isIp(ip)) return reject(400, `Invalid IP Address ${ip ?? ''}`);
  if (name === undefined && hostname === undefined) return reject(400, 'Must provide hostname');
  return undefined;
}

function checkUnusedIp(call: IncomingCall): Rejection | undefined {
  const bad = checkAddresses(call.params.network);
  if (bad) return bad;
  const p = rackParams(call);
  if (!p) return undefined;
  const from = p.get('from');
  const to = p.get('to');
  const mac = p.get('mac');
  if (typeof from === 'symbol' || typeof to === 'symbol' || typeof mac === 'symbol') return undefined;
  if (from !== undefined && to !== undefined) {
    const range = checkAddresses(from, to);
    if (range) return range;
  }
  return mac === undefined ? undefined : checkMac(mac);
}

const byMac = (network: string, mac: string) => `/dhcp/${segment(network)}/mac/${segment(mac)}`;

/** The create form's MAC (validate has made sure it is there). */
function createdMac(call: IncomingCall): string {
  const mac = rackParams(call)?.get('mac');
  return typeof mac === 'string' ? mac : '';
}

function recreate(call: IncomingCall, record: DhcpRecord): BackendCall {
  return { method: 'POST', path: `/dhcp/${segment(call.params.network!)}`, form: reservationForm(record) };
}

/**
 * After a create: no reservation before (404, or only a lease) → delete the one made; a
 * reservation before → delete whatever is there now and re-create the old one. A body that is
 * not a record is left alone rather than risk deleting what was there.
 */
function undoCreate(call: IncomingCall, snapshot: BackendAnswer): BackendCall[] {
  const del: BackendCall = { method: 'DELETE', path: byMac(call.params.network!, createdMac(call)) };
  if (snapshot.status !== 200) return [del];
  const before = recordOf(snapshot);
  if (!before) return [];
  return isReservation(before) ? [del, recreate(call, before)] : [del];
}

/** After a delete by MAC: re-create the reservation it removed (a lease cannot be deleted). */
function undoDeleteByMac(call: IncomingCall, snapshot: BackendAnswer): BackendCall[] {
  if (snapshot.status !== 200) return [];
  const before = recordOf(snapshot);
  return before && isReservation(before) ? [recreate(call, before)] : [];
}

/** After a delete by IP: re-create every reservation that held the IP. */
function undoDeleteByIp(call: IncomingCall, snapshot: BackendAnswer): BackendCall[] {
  if (snapshot.status !== 200) return [];
  return (recordsOf(snapshot) ?? []).filter(isReservation).map((r) => recreate(call, r));
}

/** A reservation is keyed by its subnet and lower-case MAC, whatever spelling Foreman used. */
const reservationKey = (network: string, mac: string) => `${network}/${mac.toLowerCase()}`;

const putReservation = (call: IncomingCall): LedgerChange[] => [
  { key: reservationKey(call.params.network!, createdMac(call)), op: 'put' },
];

const deleteReservation = (call: IncomingCall): LedgerChange[] => [
  { key: reservationKey(call.params.network!, call.params.mac!), op: 'delete' },
];

/** A delete by IP removes the reservations that held it: tombstone each by its MAC. */
function deleteReservationsAt(call: IncomingCall, snapshot: BackendAnswer | undefined): LedgerChange[] {
  if (!snapshot || snapshot.status !== 200) return [];
  const network = call.params.network!;
  return (recordsOf(snapshot) ?? [])
    .filter(isReservation)
    .filter((r): r is DhcpRecord & { mac: string } => typeof r.mac === 'string')
    .map((r) => ({ key: reservationKey(network, r.mac), op: 'delete' as const, request: { method: 'DELETE' as const, path: byMac(network, r.mac) } }));
}

/** The address the first backend offered, if any. */
function offeredIp(first: BackendAnswer): string | undefined {
  try {
    const doc: unknown = JSON.parse(first.body.toString('utf8'));
    const ip = (doc as { ip?: unknown } | null)?.ip;
    return typeof ip === 'string' && ip !== '' ? ip : undefined;
  } catch {
    return undefined;
  }
}

export const dhcp: FeatureModule = {
  name: 'dhcp',
  description: 'DHCP: subnets, reservations and free-IP suggestions.',
  loadOrder: 50,
  mounts: ['/dhcp'],
  defaultPolicy: 'failover',
  auth: 'trusted',
  exposedSettings: {},
  providers: true,
  drift: dhcpInspector,
  routes: [
    { name: 'dhcp.subnets', method: 'GET', pattern: '/dhcp/?', kind: 'read', retrySafe: true },
    {
      name: 'dhcp.subnet',
      method: 'GET',
      pattern: '/dhcp/:network',
      kind: 'read',
      retrySafe: true,
      validate: (call) => checkAddresses(call.params.network),
    },
    {
      name: 'dhcp.unused_ip',
      method: 'GET',
      pattern: '/dhcp/:network/unused_ip',
      kind: 'read',
      retrySafe: true,
      validate: checkUnusedIp,
      // Each backend's dhcpd knows only its own leases and SP's free-IP blacklist is per
      // process: the offered address must be free on every backend.
      confirm: {
        check: (call, first) => {
          const ip = offeredIp(first);
          return ip === undefined ? undefined : { method: 'GET', path: `/dhcp/${segment(call.params.network!)}/ip/${segment(ip)}` };
        },
        accepts: (answer) => answer.status === 404,
      },
    },
    {
      name: 'dhcp.by_ip',
      method: 'GET',
      pattern: '/dhcp/:network/ip/:ip',
      kind: 'read',
      retrySafe: true,
      validate: (call) => checkAddresses(call.params.network, call.params.ip),
    },
    {
      name: 'dhcp.by_mac',
      method: 'GET',
      pattern: '/dhcp/:network/mac/:mac',
      kind: 'read',
      retrySafe: true,
      // This route alone checks (and names) the lower-cased MAC.
      validate: (call) => checkAddresses(call.params.network) ?? checkMac(call.params.mac!.toLowerCase()),
    },
    {
      name: 'dhcp.create',
      method: 'POST',
      pattern: '/dhcp/:network/?',
      kind: 'write',
      // Re-creating an identical reservation answers 409: never retried once it may have landed.
      retrySafe: false,
      validate: checkCreate,
      snapshot: (call) => ({ method: 'GET', path: byMac(call.params.network!, createdMac(call)) }),
      restore: undoCreate,
      ledger: putReservation,
    },
    {
      name: 'dhcp.delete_by_ip',
      method: 'DELETE',
      pattern: '/dhcp/:network/ip/:ip',
      kind: 'write',
      retrySafe: true,
      validate: (call) => checkAddresses(call.params.network, call.params.ip),
      snapshot: (call) => ({ method: 'GET', path: call.path }),
      restore: undoDeleteByIp,
      ledger: deleteReservationsAt,
    },
    {
      name: 'dhcp.delete_by_mac',
      method: 'DELETE',
      pattern: '/dhcp/:network/mac/:mac',
      kind: 'write',
      retrySafe: true,
      validate: (call) => checkAddresses(call.params.network) ?? checkMac(call.params.mac),
      snapshot: (call) => ({ method: 'GET', path: call.path }),
      restore: undoDeleteByMac,
      ledger: deleteReservation,
    },
  ],
};
