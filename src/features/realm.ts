// Realm (/realm): hosts in FreeIPA. A create returns the host's one-time password; doing it
// again on another backend would reset it, so it happens exactly once.
import type { FeatureModule } from './module.js';

export const realm: FeatureModule = {
  name: 'realm',
  description: 'Realm: joins hosts to FreeIPA / Active Directory realms.',
  loadOrder: 90,
  mounts: ['/realm'],
  defaultPolicy: 'failover',
  auth: 'trusted',
  exposedSettings: {},
  providers: true,
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
