// HTTPBoot (/httpboot, /EFI): host-facing file server over the TFTP tree, no authorization.
// Any one backend serves it, which is sound only because TFTP is replicated.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule } from './route.js';
import { servedFileRejection } from './validate/served-file.js';

export const httpboot: FeatureModule = {
  name: 'httpboot',
  mounts: ['/httpboot', '/EFI'],
  defaultPolicy: FEATURE_DEFAULTS.httpboot.policy,
  auth: 'none',
  exposedSettings: FEATURE_DEFAULTS.httpboot.exposedSettings,
  routes: [
    {
      name: 'httpboot.file',
      method: 'GET',
      pattern: '/httpboot/*path',
      kind: 'read',
      retrySafe: true,
      validate: (call) => servedFileRejection(call.params.path!),
    },
    {
      // SP also mounts /EFI/BOOT; the backend maps that itself, the path is forwarded as is.
      name: 'httpboot.efi',
      method: 'GET',
      pattern: '/EFI/*path',
      kind: 'read',
      retrySafe: true,
      validate: (call) => servedFileRejection(call.params.path!),
    },
  ],
};
