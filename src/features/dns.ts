// DNS (/dns): records on an external DNS server the backends share, hence failover. SP has no
// read route, so nothing can be snapshotted: a replicated create or delete cannot be undone
// precisely, and a blind delete could remove a record that was there before.
import { NESTED, rackParams } from './rack-params.js';
import { reject } from './rejection.js';
import type { FeatureModule } from './module.js';
import type { IncomingCall, Rejection } from './route.js';
import { defaultDeleteType, hasReverseSuffix, isDnsName } from './validate/dns-name.js';
import { ipaddrInvalidAddress } from './validate/ruby-ipaddr.js';
import { srvValueSurelyInvalid } from './validate/srv-value.js';

const NO_READ_API = 'SP has no DNS read route to snapshot from; a blind delete could remove a record that existed before';

function invalidName(name: string, type: string): Rejection | undefined {
  if (isDnsName(name, type)) return undefined;
  return reject(400, type === 'SRV' ? `Invalid DNS srv name ${name}` : `Invalid DNS name ${name}`);
}

function invalidReverse(name: string): Rejection | undefined {
  return invalidName(name, 'PTR') ?? (hasReverseSuffix(name) ? undefined : reject(400, `Invalid reverse DNS ${name}`));
}

function checkCreate(call: IncomingCall): Rejection | undefined {
  const p = rackParams(call);
  if (!p) return undefined;
  const fqdn = p.get('fqdn');
  const value = p.get('value');
  const rawType = p.get('type');
  // SP upcases the type before anything else; on a nested value that fails in Ruby's words.
  if (rawType === NESTED) return undefined;
  if (fqdn === undefined || value === undefined || rawType === undefined) {
    return reject(400, "'create' requires fqdn, value, and type parameters");
  }
  if (fqdn === NESTED || value === NESTED) return undefined;
  const type = rawType.toUpperCase();
  const badName = invalidName(fqdn, type);
  if (badName) return badName;
  switch (type) {
    case 'A':
      return ipaddrInvalidAddress(value, 4) ? reject(400, 'invalid address: ') : undefined;
    case 'AAAA':
      return ipaddrInvalidAddress(value, 6) ? reject(400, 'invalid address: ') : undefined;
    case 'CNAME':
      return invalidName(value, type);
    case 'PTR':
      return invalidReverse(value);
    case 'SRV':
      return srvValueSurelyInvalid(value) ? reject(400, `Invalid DNS SRV value ${value}`) : undefined;
    default:
      return reject(400, `unrecognized 'type' parameter: ${type}`);
  }
}

function checkDelete(call: IncomingCall): Rejection | undefined {
  const name = call.params.value!;
  let type = call.params.type;
  if (type === undefined) {
    // Whether a `type` query or form field fills Sinatra's unmatched optional capture is not
    // something to bet a rejection on.
    if (rackParams(call)?.has('type') !== false) return undefined;
    type = defaultDeleteType(name);
  }
  // The type in the path is taken as written: `a` is not `A`.
  const badName = invalidName(name, type);
  if (badName) return badName;
  if (type === 'PTR') return invalidReverse(name);
  if (!['A', 'AAAA', 'CNAME', 'SRV'].includes(type)) return reject(400, `unrecognized 'type' parameter: ${type}`);
  return undefined;
}

export const dns: FeatureModule = {
  name: 'dns',
  description: 'DNS: A/AAAA/PTR/CNAME records.',
  loadOrder: 20,
  mounts: ['/dns'],
  defaultPolicy: 'failover',
  auth: 'trusted',
  exposedSettings: {},
  providers: true,
  routes: [
    {
      name: 'dns.create',
      method: 'POST',
      pattern: '/dns/?',
      kind: 'write',
      // An identical create is a 200 no-op, so a repeat is harmless.
      retrySafe: true,
      validate: checkCreate,
      noInverse: NO_READ_API,
    },
    {
      // SP's '/:value/?:type?': the type is optional, and so is a slash after the name.
      name: 'dns.delete',
      method: 'DELETE',
      pattern: '/dns/:value/?',
      kind: 'write',
      retrySafe: true,
      validate: checkDelete,
      noInverse: NO_READ_API,
    },
    {
      name: 'dns.delete_typed',
      method: 'DELETE',
      pattern: '/dns/:value/:type',
      kind: 'write',
      retrySafe: true,
      validate: checkDelete,
      noInverse: NO_READ_API,
    },
  ],
};
