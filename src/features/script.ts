// Remote execution (/ssh, module `script`, smart_proxy_remote_execution_ssh). In pull-mqtt mode
// proxy-proxy hosts the job spool and answers every route itself; with `rex.mode: forward` the
// routes go to the backends, the key routes to the first (`primary`) one, see
// docs/plugin-protocols.md §4.
import type { FeatureModule } from './module.js';

export const script: FeatureModule = {
  name: 'script',
  description:
    'Remote execution (SSH): with rex.mode: forward, the backends that run Script jobs; /ssh/pubkey and /ssh/ca_pubkey come from the first (the key Foreman deploys to hosts must be the one of the proxy that runs the job). Not listed while the pull-mqtt spool hosts it.',
  loadOrder: 230,
  mounts: ['/ssh'],
  defaultPolicy: 'primary',
  // Keys are public; job routes authorize by the host's client certificate inside the service,
  // and are never forwarded: a backend would see proxy-proxy's certificate (docs/host-identity.md).
  auth: 'none',
  rex: true,
  forwards: true,
  plugin: true,
  exposedSettings: {},
  // pull-mqtt mode. No 'cockpit': the web console needs SSH. With rex.mode: forward the
  // backends' own settings and capabilities are reported instead.
  capabilities: [],
  fixedSettings: { mode: 'pull-mqtt' },
  version: '1.0.1',
  routes: [
    { name: 'script.pubkey', method: 'GET', pattern: '/ssh/pubkey', kind: 'read', retrySafe: true, service: true },
    { name: 'script.ca_pubkey', method: 'GET', pattern: '/ssh/ca_pubkey', kind: 'read', retrySafe: true, service: true },
    { name: 'script.jobs', method: 'GET', pattern: '/ssh/jobs', kind: 'read', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
    { name: 'script.fetch', method: 'GET', pattern: '/ssh/jobs/:uuid', kind: 'write', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
    { name: 'script.cancel', method: 'GET', pattern: '/ssh/jobs/:uuid/cancel', kind: 'read', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
    { name: 'script.update', method: 'POST', pattern: '/ssh/jobs/:uuid/update', kind: 'write', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
  ],
};
