// Puppet (/puppet, but not /puppet/ca): read-only views of the puppetserver's environments and
// classes. `POST /puppet/run` is kept only because SP still routes it (always 501).
import type { FeatureModule } from './module.js';

export const puppet: FeatureModule = {
  name: 'puppet',
  description: 'Puppet: environments and classes.',
  loadOrder: 70,
  mounts: ['/puppet'],
  defaultPolicy: 'failover',
  auth: 'trusted',
  exposedSettings: {},
  providers: true,
  routes: [
    { name: 'puppet.environments', method: 'GET', pattern: '/puppet/environments', kind: 'read', retrySafe: true },
    { name: 'puppet.environment', method: 'GET', pattern: '/puppet/environments/:environment', kind: 'read', retrySafe: true },
    { name: 'puppet.classes', method: 'GET', pattern: '/puppet/environments/:environment/classes', kind: 'read', retrySafe: true },
    {
      name: 'puppet.classes_and_errors',
      method: 'GET',
      pattern: '/puppet/environments/:environment/classes_and_errors',
      kind: 'read',
      retrySafe: true,
    },
    {
      name: 'puppet.run',
      method: 'POST',
      pattern: '/puppet/run',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: 'a puppet run cannot be taken back',
    },
  ],
};
