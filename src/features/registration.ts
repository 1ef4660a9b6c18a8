// Registration (/register): relays to Foreman, no authorization. GET fetches the global
// registration script (a read); POST registers a host in Foreman, so it happens exactly once.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule } from './route.js';

export const registration: FeatureModule = {
  name: 'registration',
  mounts: ['/register'],
  defaultPolicy: FEATURE_DEFAULTS.registration.policy,
  auth: 'none',
  exposedSettings: FEATURE_DEFAULTS.registration.exposedSettings,
  routes: [
    // SP's get '/' in an app mounted at /register: /register and /register/ both reach it.
    { name: 'registration.script', method: 'GET', pattern: '/register/?', kind: 'read', retrySafe: true },
    {
      name: 'registration.register',
      method: 'POST',
      pattern: '/register/?',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: 'the host is created in Foreman, not on the proxy',
    },
  ],
};
