// Realm (/realm): hosts in FreeIPA. A create returns the host's one-time password; doing it
// again on another backend would reset it, so it happens exactly once.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule } from './route.js';

export const realm: FeatureModule = {
  name: 'realm',
  mounts: ['/realm'],
  defaultPolicy: FEATURE_DEFAULTS.realm.policy,
  auth: 'trusted',
  exposedSettings: FEATURE_DEFAULTS.realm.exposedSettings,
  routes: [
    {
      name: 'realm.create',
      method: 'POST',
      pattern: '/realm/:realm/?',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: 'the realm is one external FreeIPA; a re-create would issue a new one-time password',
    },
    {
      // A repeat finds nothing and answers 404, which Foreman ignores.
      name: 'realm.delete',
      method: 'DELETE',
      pattern: '/realm/:realm/:hostname/?',
      kind: 'write',
      retrySafe: true,
      noInverse: 'a re-created host would get a new one-time password',
    },
  ],
};
