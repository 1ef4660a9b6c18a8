// Registration (/register): host-facing, no authorization. proxy-proxy relays it to Foreman
// itself, as the smart proxy's registration module does: GET fetches the global registration
// script, POST registers the host in Foreman and is sent exactly once. See docs/host-identity.md.
import type { FeatureModule } from './module.js';
import { register } from '../relay/registration-relay.js';

export const registration: FeatureModule = {
  name: 'registration',
  description: 'Registration: proxy-proxy relays host registration (/register) to foreman_url itself, exactly once. Needs foreman_url.',
  loadOrder: 120,
  mounts: ['/register'],
  defaultPolicy: 'failover',
  auth: 'none',
  localOnly: true,
  exposedSettings: {
    registration_url:
      'URL hosts register through: reported to Foreman and passed to it as `url` with every relayed registration; set it to the VIP or name of proxy-proxy. Default: the URL the host used.',
  },
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
