// Dynflow (/dynflow, smart_proxy_dynflow): the task API Foreman launches and polls remote-execution
// and Ansible jobs through. Every route is answered by the dynflow service (the hosted spool and
// forwarding to the backends that run other operations); see docs/plugin-protocols.md §1.
import type { FeatureModule } from './module.js';
import type { HttpMethod, RouteSpec } from './route.js';

function route(name: string, method: HttpMethod, pattern: string, kind: 'read' | 'write'): RouteSpec {
  // Never retried by the router: the service decides where a task lives.
  return { name: `dynflow.${name}`, method, pattern, kind, retrySafe: false, service: true };
}

export const dynflow: FeatureModule = {
  name: 'dynflow',
  description:
    'Dynflow: backends that run the task operations proxy-proxy does not host itself (ansible-runner, and with rex.mode: forward also ssh); a launch goes to the least loaded healthy one and every later call about its tasks to that one. Takes no policy.',
  loadOrder: 210,
  mounts: ['/dynflow'],
  defaultPolicy: 'primary',
  // smart_proxy_dynflow's `before` filter: trusted_hosts and the client certificate for every
  // route, checked before routing, so an unknown path is refused before it is found unknown.
  auth: 'trusted',
  localOnly: true,
  rex: true,
  forwards: true,
  plugin: true,
  exposedSettings: {},
  // The registered launcher operations (docs/plugin-protocols.md §1), plus those of the backends it
  // forwards to (docs/plugin-protocols.md §1).
  capabilities: ['single', 'ssh'],
  capabilitiesFromEveryBackend: true,
  version: '0.9.4',
  routes: [
    route('launch', 'POST', '/dynflow/tasks/launch/?', 'write'),
    route('trigger', 'POST', '/dynflow/tasks/?', 'write'),
    route('status', 'POST', '/dynflow/tasks/status', 'read'),
    route('statuses', 'POST', '/dynflow/tasks/statuses', 'read'),
    route('count', 'GET', '/dynflow/tasks/count', 'read'),
    route('operations', 'GET', '/dynflow/tasks/operations', 'read'),
    route('cancel', 'POST', '/dynflow/tasks/:task_id/cancel', 'write'),
    route('task_status', 'GET', '/dynflow/tasks/:task_id/status', 'read'),
    // External events for a running step of a forwarded task (OTP-authorized by its owner).
    route('update', 'POST', '/dynflow/tasks/:task_id/update', 'write'),
    route('done', 'POST', '/dynflow/tasks/:task_id/done', 'write'),
    // Anything else under /dynflow: authorized first, then 404 (as the Sinatra app answers).
    ...(['GET', 'POST', 'PUT', 'DELETE'] as const).map((m) => route('unknown', m, '/dynflow/*rest', 'read')),
  ],
};
