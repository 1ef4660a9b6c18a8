// Remote execution (/ssh, module `script`, smart_proxy_remote_execution_ssh). In pull-mqtt mode
// proxy-proxy hosts the job spool and answers every route itself; with `rex.mode: forward` the
// routes go to the backends, the key routes to the first (`primary`) one, see
// docs/plugin-protocols.md §4.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule } from './route.js';

export const script: FeatureModule = {
  name: 'script',
  mounts: ['/ssh'],
  defaultPolicy: FEATURE_DEFAULTS.script.policy,
  // Keys are public; job routes authorize by the host's client certificate inside the service,
  // and are never forwarded: a backend would see proxy-proxy's certificate (docs/host-identity.md).
  auth: 'none',
  exposedSettings: FEATURE_DEFAULTS.script.exposedSettings,
  routes: [
    { name: 'script.pubkey', method: 'GET', pattern: '/ssh/pubkey', kind: 'read', retrySafe: true, service: true },
    { name: 'script.ca_pubkey', method: 'GET', pattern: '/ssh/ca_pubkey', kind: 'read', retrySafe: true, service: true },
    { name: 'script.jobs', method: 'GET', pattern: '/ssh/jobs', kind: 'read', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
    { name: 'script.fetch', method: 'GET', pattern: '/ssh/jobs/:uuid', kind: 'write', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
    { name: 'script.cancel', method: 'GET', pattern: '/ssh/jobs/:uuid/cancel', kind: 'read', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
    { name: 'script.update', method: 'POST', pattern: '/ssh/jobs/:uuid/update', kind: 'write', retrySafe: false, service: true, hostIdentity: 'client-certificate' },
  ],
};
