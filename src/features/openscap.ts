// OpenSCAP (/compliance, smart_proxy_openscap openscap_api.rb). Hosts upload ARF reports with
// their own certificate, so proxy-proxy takes uploads itself and answers Foreman's reads and
// deletes of them from its state store (service routes); SCAP content, tailoring files and
// validation go to any healthy backend (docs/plugin-protocols.md §3).
import type { FeatureModule } from './module.js';
import type { HttpMethod, RouteSpec } from './route.js';

const compute = (name: string, pattern: string): RouteSpec => ({ name: `openscap.${name}`, method: 'POST', pattern, kind: 'read', retrySafe: true });
const own = (name: string, method: HttpMethod, pattern: string, kind: 'read' | 'write', auth?: 'none'): RouteSpec => ({
  name: `openscap.${name}`,
  method,
  pattern,
  kind,
  retrySafe: false,
  service: true,
  ...(auth ? { auth } : {}),
});

export const openscap: FeatureModule = {
  name: 'openscap',
  description:
    "OpenSCAP: hosts' ARF report uploads are taken, spooled in the state store and posted to Foreman by proxy-proxy itself (needs foreman_url); SCAP content, tailoring files and validation go to a backend.",
  loadOrder: 220,
  mounts: ['/compliance'],
  defaultPolicy: 'failover',
  auth: 'trusted',
  plugin: true,
  exposedSettings: {},
  routes: [
    // Host paths skip trusted_hosts; the upload is identified by the client certificate, so it is
    // never forwarded (docs/host-identity.md).
    { ...own('upload', 'POST', '/compliance/arf/:policy', 'write', 'none'), hostIdentity: 'client-certificate' },
    own('report_xml', 'GET', '/compliance/arf/:id/:cname/:date/:digest/xml', 'read'),
    own('report_html', 'GET', '/compliance/arf/:id/:cname/:date/:digest/html', 'read'),
    own('report_delete', 'DELETE', '/compliance/arf/:id/:cname/:date/:digest', 'write'),
    own('spool_errors', 'GET', '/compliance/spool_errors', 'read'),
    // Any verified certificate will do, but it must be the host's: the backend only sees proxy-proxy's.
    { name: 'openscap.content', method: 'GET', pattern: '/compliance/policies/:policy_id/content/:digest', kind: 'read', retrySafe: true, auth: 'client-certificate' },
    { name: 'openscap.tailoring', method: 'GET', pattern: '/compliance/policies/:policy_id/tailoring/:digest', kind: 'read', retrySafe: true, auth: 'client-certificate' },
    compute('scap_profiles', '/compliance/scap_content/policies'),
    compute('tailoring_profiles', '/compliance/tailoring_file/profiles'),
    compute('validate', '/compliance/scap_file/validator/:type'),
    compute('validate_legacy', '/compliance/scap_content/validator'),
    compute('guide', '/compliance/scap_content/guide/?'),
    compute('guide_policy', '/compliance/scap_content/guide/:policy'),
  ],
};
