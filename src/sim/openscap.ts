// /compliance: SCAP content, tailoring files and validation as smart_proxy_openscap answers
// them (fixed fake documents), and an ARF upload spool that records which client certificate
// uploaded what, so that tests can see whether an upload reached a backend at all.
import { createHash } from 'node:crypto';
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { halt, okJson, reply, CT_JSON } from './headers.js';
import { requestState } from './request-state.js';

const XML = 'application/xml';

export function openscapRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const name = ctx.options.name;
  // Host paths skip trusted_hosts (openscap_api.rb CLIENT_PATHS); everything else is gated.
  r.post('/arf/:policy', (req, res) => {
    const s = requestState(res);
    if (!s.clientCn) return halt(req, res, 403, 'Client authentication failed: Client certificate required!');
    ctx.openscapSpool.push({ cn: s.clientCn, policy: req.params.policy!, digest: createHash('sha256').update(s.rawBody).digest('hex'), bytes: s.rawBody.length, at: Date.now() });
    reply(res, 200, CT_JSON, JSON.stringify({ result: 'Failed to upload to Foreman, saving in spool.' }));
  });
  r.get('/policies/:id/content/:digest', (req, res) =>
    reply(res, 200, XML, `<?xml version="1.0"?><fake-scap-content policy="${req.params.id}" digest="${req.params.digest}" from="${name}"/>`),
  );
  r.get('/policies/:id/tailoring/:digest', (req, res) =>
    reply(res, 200, XML, `<?xml version="1.0"?><fake-tailoring policy="${req.params.id}" digest="${req.params.digest}" from="${name}"/>`),
  );
  r.use(gate(ctx.options.trustedHosts));
  r.post('/scap_content/policies', (_req, res) => okJson(res, { xccdf_org_fake_profile_standard: `Standard profile (${name})` }));
  r.post('/tailoring_file/profiles', (_req, res) => okJson(res, { xccdf_org_fake_profile_tailored: `Tailored profile (${name})` }));
  r.post('/scap_file/validator/:type', (_req, res) => okJson(res, { errors: [] }));
  r.post('/scap_content/validator', (_req, res) => okJson(res, { errors: [] }));
  r.get('/spool_errors', (_req, res) => okJson(res, { errors_count: 0 }));
  // Reports are never kept here: a read is the proxy's "not on this proxy" answer.
  r.get('/arf/:id/:cname/:date/:digest/:format', (req, res) => halt(req, res, 500, `Could not find requested file, ${req.params.digest}`));
  return r;
}
