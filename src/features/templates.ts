// Templates (/unattended, /userdata): host-facing, no authorization. proxy-proxy relays them to
// Foreman itself, as the smart proxy's templates module does, so Foreman sees each host's own
// address in X-Forwarded-For (a backend would see only proxy-proxy's). See docs/host-identity.md.
import type { FeatureModule } from './module.js';
import type { RouteSpec } from './route.js';
import { templateServer, unattendedGet, unattendedPost, userdataGet } from '../relay/template-relay.js';

const RELAY = 'a relay to Foreman; Foreman holds the state';

/** GET /unattended/built|failed is a report disguised as a read: relayed once, never repeated. */
function report(kind: 'built' | 'failed'): RouteSpec {
  return {
    name: `templates.${kind}`,
    method: 'GET',
    pattern: `/unattended/${kind}`,
    kind: 'write',
    retrySafe: false,
    exactlyOnce: true,
    noInverse: RELAY,
    // The path names the kind; the relay reads it as the :kind capture of SP's GET /:kind.
    local: (call, ctx) => unattendedGet({ ...call, params: { ...call.params, kind } }, ctx),
  };
}

export const templates: FeatureModule = {
  name: 'templates',
  description:
    "Templates: proxy-proxy relays hosts' /unattended and /userdata requests to foreman_url itself, with the host's address in X-Forwarded-For. Needs foreman_url and settings.template_url.",
  loadOrder: 30,
  mounts: ['/unattended', '/userdata'],
  defaultPolicy: 'failover',
  auth: 'none',
  localOnly: true,
  exposedSettings: {
    template_url:
      'URL hosts fetch templates from: reported to Foreman and passed to it as `url` with every relayed template request; set it to the VIP or name of proxy-proxy (required).',
  },
  routes: [
    {
      name: 'templates.server',
      method: 'GET',
      pattern: '/unattended/templateServer',
      kind: 'read',
      retrySafe: true,
      local: (_call, ctx) => templateServer(ctx),
    },
    {
      name: 'templates.hostgroup',
      method: 'GET',
      pattern: '/unattended/:kind/:template/:hostgroup',
      kind: 'read',
      retrySafe: false,
      local: unattendedGet,
    },
    report('built'),
    report('failed'),
    { name: 'templates.get', method: 'GET', pattern: '/unattended/:kind', kind: 'read', retrySafe: false, local: unattendedGet },
    {
      name: 'templates.post',
      method: 'POST',
      pattern: '/unattended/:kind',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: RELAY,
      local: unattendedPost,
    },
    { name: 'templates.userdata', method: 'GET', pattern: '/userdata/:kind', kind: 'read', retrySafe: false, local: userdataGet },
  ],
};
