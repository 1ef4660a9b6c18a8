// Puppet CA (/puppet/ca): certificates and autosign entries of the CA the primary backend
// fronts. Signing cannot be undone (revoking is not un-signing) and an autosign token is only
// valid on the proxy that issued it, so these writes reach exactly one backend.
import type { FeatureModule } from './module.js';

const CA_STATE = 'Puppet CA state lives in one CA; it is never replicated';

export const puppetca: FeatureModule = {
  name: 'puppetca',
  description: 'Puppet CA: certificate signing, autosign entries and tokens.',
  loadOrder: 60,
  mounts: ['/puppet/ca'],
  defaultPolicy: 'primary',
  auth: 'trusted',
  exposedSettings: {},
  providers: true,
  routes: [
    { name: 'puppetca.list', method: 'GET', pattern: '/puppet/ca/?', kind: 'read', retrySafe: true },
    { name: 'puppetca.autosign_list', method: 'GET', pattern: '/puppet/ca/autosign', kind: 'read', retrySafe: true },
    {
      // With token whitelisting this mints a token: a second one would differ.
      name: 'puppetca.autosign',
      method: 'POST',
      pattern: '/puppet/ca/autosign/:certname',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: CA_STATE,
    },
    {
      // Called by the puppetserver's autosign hook; validating a CSR consumes its token.
      name: 'puppetca.validate',
      method: 'POST',
      pattern: '/puppet/ca/validate',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: CA_STATE,
    },
    {
      name: 'puppetca.autosign_delete',
      method: 'DELETE',
      pattern: '/puppet/ca/autosign/:certname',
      kind: 'write',
      retrySafe: true,
      noInverse: CA_STATE,
    },
    {
      name: 'puppetca.sign',
      method: 'POST',
      pattern: '/puppet/ca/:certname',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: 'a signed certificate cannot be un-signed',
    },
    {
      name: 'puppetca.clean',
      method: 'DELETE',
      pattern: '/puppet/ca/:certname',
      kind: 'write',
      retrySafe: true,
      noInverse: 'a revoked certificate cannot be restored',
    },
  ],
};
