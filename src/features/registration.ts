// Registration (/register): host-facing, no authorization. proxy-proxy relays it to Foreman
// itself, as the smart proxy's registration module does: GET fetches the global registration
// script, POST registers the host in Foreman and is sent exactly once. See docs/host-identity.md.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule } from './route.js';
import { register } from '../relay/registration-relay.js';

export const registration: FeatureModule = {
  name: 'registration',
  mounts: ['/register'],
  defaultPolicy: FEATURE_DEFAULTS.registration.policy,
  auth: 'none',
  localOnly: true,
  exposedSettings: FEATURE_DEFAULTS.registration.exposedSettings,
  routes: [
    // SP's get '/' in an app mounted at /register: /register and /register/ both reach it.
    { name: 'registration.script', method: 'GET', pattern: '/register/?', kind: 'read', retrySafe: true, local: register },
    {
      name: 'registration.register',
      method: 'POST',
      pattern: '/register/?',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: 'the host is created in Foreman, not on the proxy',
      local: register,
    },
  ],
};
