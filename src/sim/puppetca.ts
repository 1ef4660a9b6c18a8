// /puppet/ca: an in-memory Puppet CA with an autosign list (SP modules/puppetca/puppetca_api.rb,
// hostname_whitelisting autosign, puppetca_http_api certificates).
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { halt, ok, okJson, CT_JSON } from './headers.js';

export function puppetcaRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const store = ctx.puppetca;
  r.use(gate(ctx.options.trustedHosts));

  r.get('/', (_req, res) => okJson(res, Object.fromEntries(store.certs)));
  r.get('/autosign', (_req, res) => okJson(res, store.autosign));

  r.post('/autosign/:certname', (_req, res) => {
    const { certname } = _req.params;
    if (!store.autosign.includes(certname)) store.autosign.push(certname);
    ok(res, '', CT_JSON);
  });

  r.delete('/autosign/:certname', (req, res) => {
    const { certname } = req.params;
    if (!store.autosign.includes(certname)) {
      return halt(req, res, 404, `Attempt to remove nonexistant client autosign for ${certname}`, { json: true });
    }
    store.autosign = store.autosign.filter((n) => n !== certname);
    ok(res, '', CT_JSON);
  });

  r.post('/:certname', (req, res) => {
    const { certname } = req.params;
    if (store.certs.get(certname)?.state !== 'pending') {
      return halt(req, res, 406, `Failed to sign certificate(s) for ${certname}: No pending certificate request for ${certname}`, {
        json: true,
      });
    }
    store.issue(certname);
    ok(res, '', CT_JSON);
  });

  // Revoke and clean; puppetserver's 404 for an unknown name is tolerated by puppetca_http_api.
  r.delete('/:certname', (req, res) => {
    store.certs.delete(req.params.certname);
    ok(res, '', CT_JSON);
  });

  return r;
}
