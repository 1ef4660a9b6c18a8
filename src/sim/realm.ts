// /realm: a FreeIPA-like host registry. A new host (or rebuild=true) gets a one-time password
// in `randompassword`; errors are 400, an unknown host on delete 404 (SP modules/realm).
import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { halt, reply, CT_JSON } from './headers.js';
import { paramString } from './params.js';
import { requestState } from './request-state.js';

/** Ruby's JSON.pretty_generate, which is what the FreeIPA provider answers with. */
function pretty(res: Response, value: unknown): void {
  reply(res, 200, CT_JSON, JSON.stringify(value, null, 2));
}

export function realmRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const store = ctx.realm;
  r.use(gate(ctx.options.trustedHosts));

  function checkRealm(req: Request, res: Response): boolean {
    if (String(req.params.realm).toLowerCase() === ctx.options.realm.toLowerCase()) return true;
    halt(req, res, 400, `Unknown realm ${req.params.realm}`, { json: true });
    return false;
  }

  function create(req: Request, res: Response): void {
    if (!checkRealm(req, res)) return;
    const p = requestState(res).params;
    const hostname = paramString(p, 'hostname');
    if (!hostname) return halt(req, res, 400, 'Missing hostname parameter', { json: true });
    const existing = store.hosts.get(hostname.toLowerCase());
    const userclass = paramString(p, 'userclass');
    if (existing && paramString(p, 'rebuild') !== 'true') {
      if (userclass !== undefined && userclass !== existing.userclass) {
        existing.userclass = userclass;
        return pretty(res, { result: { fqdn: [hostname], userclass: [userclass] }, value: hostname, summary: `Modified "${hostname}"` });
      }
      return pretty(res, { message: 'nothing to do' });
    }
    const otp = randomBytes(12).toString('base64url');
    store.hosts.set(hostname.toLowerCase(), { hostname, userclass: userclass ?? existing?.userclass, otp });
    pretty(res, {
      result: {
        fqdn: [hostname],
        has_keytab: false,
        has_password: true,
        krbprincipalname: [`host/${hostname}@${ctx.options.realm}`],
      },
      value: hostname,
      summary: existing ? `Modified "${hostname}"` : `Added host "${hostname}"`,
      randompassword: otp,
    });
  }

  function remove(req: Request, res: Response): void {
    if (!checkRealm(req, res)) return;
    const hostname = String(req.params.hostname);
    if (!store.hosts.delete(hostname.toLowerCase())) {
      return halt(req, res, 404, `Host ${hostname} not found in realm`, { json: true });
    }
    pretty(res, { result: { failed: '' }, value: [hostname], summary: `Deleted host "${hostname}"` });
  }

  r.post('/:realm', create);
  r.post('/:realm/', create);
  r.delete('/:realm/:hostname', remove);
  r.delete('/:realm/:hostname/', remove);
  return r;
}
