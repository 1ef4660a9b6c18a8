// HTTPBoot (/httpboot, /EFI): host-facing file server over the TFTP tree, no authorization.
// Any one backend serves it, which is sound only because TFTP is replicated.
import type { FeatureModule } from './module.js';
import { servedFileRejection } from './validate/served-file.js';

export const httpboot: FeatureModule = {
  name: 'httpboot',
  description: 'HTTPBoot: serves the TFTP root over HTTP(S) for UEFI HTTP boot.',
  loadOrder: 110,
  mounts: ['/httpboot', '/EFI'],
  defaultPolicy: 'failover',
  auth: 'none',
  exposedSettings: {
    http_port: 'HTTP port reported for HTTP boot.',
    https_port: 'HTTPS port reported for HTTP boot.',
  },
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
