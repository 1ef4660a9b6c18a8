// Ansible roles are not written through proxy-proxy, so there is no ledger to compare with: the
// backends are compared with each other. A role some backends hold and others do not means a
// job behaves differently depending on where it lands.
import type { PeerInspector } from './drift-inspector.js';

export const ansibleRolesInspector: PeerInspector = {
  feature: 'ansible',
  async holdings(send) {
    const a = await send({ method: 'GET', path: '/ansible/roles' });
    if (a.status !== 200) throw Object.assign(new Error(`HTTP ${a.status} on GET /ansible/roles`), { code: `HTTP_${a.status}` });
    const doc = JSON.parse(a.body.toString('utf8')) as unknown;
    if (!Array.isArray(doc)) throw Object.assign(new Error('GET /ansible/roles did not answer a list'), { code: 'BAD_ANSWER' });
    return doc.filter((x): x is string => typeof x === 'string');
  },
  key: (name) => `role/${name}`,
};
