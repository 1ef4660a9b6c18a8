// Ansible (/ansible, smart_proxy_ansible api.rb): roles, their variables and playbooks. All
// reads, no authorization filter; any healthy backend answers (docs/plugin-protocols.md §2).
// Execution is the dynflow operation ansible-runner (features/dynflow.ts).
import { ansibleRolesInspector } from './ansible-drift.js';
import type { FeatureModule } from './module.js';
import type { RouteSpec } from './route.js';

const read = (name: string, pattern: string): RouteSpec => ({ name: `ansible.${name}`, method: 'GET', pattern, kind: 'read', retrySafe: true });

export const ansible: FeatureModule = {
  name: 'ansible',
  description: 'Ansible: roles, role variables and playbooks, read from any healthy backend (execution is the dynflow operation ansible-runner).',
  loadOrder: 200,
  mounts: ['/ansible'],
  defaultPolicy: 'failover',
  auth: 'none',
  plugin: true,
  exposedSettings: {},
  // Roles are not written through proxy-proxy: drift compares the backends with each other.
  peerDrift: ansibleRolesInspector,
  routes: [
    read('roles', '/ansible/roles'),
    read('roles_variables', '/ansible/roles/variables'),
    read('role_variables', '/ansible/roles/:role_name/variables'),
    read('playbooks_names', '/ansible/playbooks_names'),
    // Sinatra's '/playbooks/:playbooks_names?': every playbook, or the named ones.
    read('playbooks', '/ansible/playbooks/?'),
    read('playbooks_named', '/ansible/playbooks/:playbooks_names'),
    // VCS clone routes (written upstream for Foreman's role import from Git, not on the plugin's
    // main line at 3.7.1): they change one backend's roles, which `drift` then reports.
    read('vcs_repo_information', '/ansible/vcs_clone/repo_information'),
    read('vcs_roles', '/ansible/vcs_clone/roles'),
    { name: 'ansible.vcs_install', method: 'POST', pattern: '/ansible/vcs_clone/roles', kind: 'write', retrySafe: false, exactlyOnce: true, noInverse: 'a git clone on the backend; drift reports the difference' },
    { name: 'ansible.vcs_update', method: 'PUT', pattern: '/ansible/vcs_clone/roles/:role_name', kind: 'write', retrySafe: false, exactlyOnce: true, noInverse: 'a git pull on the backend; drift reports the difference' },
    { name: 'ansible.vcs_delete', method: 'DELETE', pattern: '/ansible/vcs_clone/roles/:role_name', kind: 'write', retrySafe: false, exactlyOnce: true, noInverse: 'a role removed on the backend; drift reports the difference' },
  ],
};
