// Facts (/facts): Facter facts of the proxy host. Read-only; not called by Foreman core.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule } from './route.js';

export const facts: FeatureModule = {
  name: 'facts',
  mounts: ['/facts'],
  defaultPolicy: FEATURE_DEFAULTS.facts.policy,
  auth: 'trusted',
  exposedSettings: FEATURE_DEFAULTS.facts.exposedSettings,
  routes: [
    { name: 'facts.all', method: 'GET', pattern: '/facts/?', kind: 'read', retrySafe: true },
    { name: 'facts.fact', method: 'GET', pattern: '/facts/:fact', kind: 'read', retrySafe: true },
  ],
};
