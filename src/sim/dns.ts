// /dns with the nsupdate provider's behaviour (SP modules/dns/dns_api.rb, dns_common.rb):
// a conflict check against what the server answers, then an update the server may silently drop.
import { Router, type Request, type Response } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { absolute, stripDot, type DnsType } from './dns-store.js';
import { halt, ok } from './headers.js';
import { isIPv4, normalizeIPv6 } from './ipv4.js';
import { paramString } from './params.js';
import { requestState } from './request-state.js';

class DnsError extends Error {}
class Collision extends Error {}

// Linear-time equivalents of SP's /^([a-zA-Z0-9]([-a-zA-Z0-9]+)?\.?)+$/ (and the SRV one with _).
const DNS_NAME = /^[a-zA-Z0-9][-a-zA-Z0-9]*(\.[a-zA-Z0-9][-a-zA-Z0-9]*)*\.?$/;
const SRV_NAME = /^[a-zA-Z0-9_][-a-zA-Z0-9_]*(\.[a-zA-Z0-9_][-a-zA-Z0-9_]*)*\.?$/;

function validateName(name: string, type?: string): void {
  if (type === 'SRV') {
    if (!SRV_NAME.test(name)) throw new DnsError(`Invalid DNS srv name ${name}`);
  } else if (!DNS_NAME.test(name)) {
    throw new DnsError(`Invalid DNS name ${name}`);
  }
}

function validateReverse(name: string): void {
  validateName(name, 'PTR');
  if (!/\.(in-addr|ip6)\.arpa$/.test(name)) throw new DnsError(`Invalid reverse DNS ${name}`);
}

/** "prio weight port target" with numeric ranges, normalised the way dig prints it. */
function srvValue(value: string): string {
  const parts = value.trim().split(/\s+/);
  const [prio, weight, port, target] = parts;
  const int = (s: string | undefined) => (s !== undefined && /^[+-]?\d+$/.test(s) ? Number(s) : NaN);
  try {
    if (target === undefined) throw new Error();
    validateName(target, 'SRV');
  } catch {
    throw new DnsError(`Invalid DNS SRV value ${value}`);
  }
  const p = int(prio);
  const w = int(weight);
  const po = int(port);
  if (parts.length !== 4 || !(p >= 0 && p <= 65535) || !(w >= 0 && w <= 65535) || !(po >= 1 && po <= 65535)) {
    throw new DnsError(`Invalid DNS SRV value ${value}`);
  }
  return `${p} ${w} ${po} ${absolute(target)}`;
}

export function dnsRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const store = ctx.dns;

  /** -1 nothing there, 0 the same value is there, 1 something else is there. */
  function conflicts(name: string, type: DnsType, same: (existing: string) => boolean): -1 | 0 | 1 {
    const found = store.lookup(name, type);
    if (found.length === 0) return -1;
    return found.some((rec) => same(rec.value)) ? 0 : 1;
  }

  function createChecked(name: string, type: DnsType, value: string, same: (e: string) => boolean, inUse: string) {
    const c = conflicts(name, type, same);
    if (c === 1) throw new Collision(inUse);
    if (c === -1) store.add(name, type, value);
  }

  r.use(gate(ctx.options.trustedHosts));

  r.post('/', (req: Request, res: Response) => {
    const st = requestState(res);
    const fqdn = paramString(st.params, 'fqdn');
    const value = paramString(st.params, 'value');
    const rawType = paramString(st.params, 'type');
    const type = rawType?.toUpperCase();
    if (fqdn === undefined || value === undefined || type === undefined) {
      return halt(req, res, 400, "'create' requires fqdn, value, and type parameters");
    }
    try {
      validateName(fqdn, type);
      switch (type) {
        case 'A': {
          if (!isIPv4(value)) throw new DnsError('invalid address: ');
          createChecked(fqdn, 'A', value, (e) => e === value, `'${fqdn} 'is already in use`);
          break;
        }
        case 'AAAA': {
          const ip = normalizeIPv6(value);
          if (ip === undefined) throw new DnsError('invalid address: ');
          createChecked(fqdn, 'AAAA', ip, (e) => normalizeIPv6(e) === ip, `'${fqdn} 'is already in use`);
          break;
        }
        case 'CNAME': {
          validateName(value, type);
          const same = (e: string) => stripDot(e).toLowerCase() === value.toLowerCase();
          createChecked(fqdn, 'CNAME', absolute(value), same, `'${fqdn} 'is already in use`);
          break;
        }
        case 'PTR': {
          validateReverse(value);
          const same = (e: string) => stripDot(e).toLowerCase() === fqdn.toLowerCase();
          createChecked(value, 'PTR', absolute(fqdn), same, `'${value}' is already in use`);
          break;
        }
        case 'SRV':
          // No conflict check: a second value joins the first.
          store.add(fqdn, 'SRV', srvValue(value));
          break;
        default:
          return halt(req, res, 400, `unrecognized 'type' parameter: ${type}`);
      }
    } catch (err) {
      return halt(req, res, err instanceof Collision ? 409 : 400, (err as Error).message);
    }
    st.log('INFO', `Added DNS entry ${fqdn} => ${value} (${type})`);
    ok(res);
  });

  function remove(req: Request, res: Response, name: string, typeParam: string | undefined): void {
    const type = typeParam ?? (name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa') ? 'PTR' : 'A');
    try {
      validateName(name, type);
      switch (type) {
        case 'A':
        case 'AAAA':
        case 'CNAME':
        case 'SRV':
          store.remove(name, type);
          break;
        case 'PTR':
          validateReverse(name);
          store.remove(name, 'PTR');
          break;
        default:
          return halt(req, res, 400, `unrecognized 'type' parameter: ${type}`);
      }
    } catch (err) {
      return halt(req, res, 400, (err as Error).message);
    }
    requestState(res).log('INFO', `Removed DNS entry ${name} (${type})`);
    ok(res);
  }

  // Sinatra's '/:value/?:type?'
  r.delete('/:value', (req, res) => remove(req, res, req.params.value, undefined));
  r.delete('/:value/', (req, res) => remove(req, res, req.params.value, undefined));
  r.delete('/:value/:type', (req, res) => remove(req, res, req.params.value, req.params.type));

  return r;
}
