// Facts (/facts): Facter facts of the proxy host. Read-only; not called by Foreman core.
import type { FeatureModule } from './module.js';

export const facts: FeatureModule = {
  name: 'facts',
  description: 'Facts: the proxy host\'s own facts.',
  loadOrder: 10,
  mounts: ['/facts'],
  defaultPolicy: 'failover',
  auth: 'trusted',
  exposedSettings: {},
  routes: [
    { name: 'facts.all', method: 'GET', pattern: '/facts/?', kind: 'read', retrySafe: true },
    { name: 'facts.fact', method: 'GET', pattern: '/facts/:fact', kind: 'read', retrySafe: true },
  ],
};
