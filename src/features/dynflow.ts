// Dynflow (/dynflow, smart_proxy_dynflow): the task API Foreman launches and polls remote-execution
// and Ansible jobs through. Every route is answered by the dynflow service (the hosted spool and
// forwarding to the backends that run other operations); see docs/plugin-protocols.md §1.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule, HttpMethod, RouteSpec } from './route.js';

function route(name: string, method: HttpMethod, pattern: string, kind: 'read' | 'write'): RouteSpec {
  // Never retried by the router: the service decides where a task lives.
  return { name: `dynflow.${name}`, method, pattern, kind, retrySafe: false, service: true };
}

export const dynflow: FeatureModule = {
  name: 'dynflow',
  mounts: ['/dynflow'],
  defaultPolicy: FEATURE_DEFAULTS.dynflow.policy,
  // smart_proxy_dynflow's `before` filter: trusted_hosts and the client certificate for every
  // route, checked before routing, so an unknown path is refused before it is found unknown.
  auth: 'trusted',
  localOnly: true,
  exposedSettings: FEATURE_DEFAULTS.dynflow.exposedSettings,
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
