// Templates (/unattended, /userdata): host-facing relays to Foreman, no authorization. Reads
// go to any one backend; the reports hosts send back (built, failed, any POST) reach Foreman
// through exactly one of them, so Foreman never records a report twice.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule, RouteSpec } from './route.js';
import { settingText } from './setting-value.js';

const RELAY = 'a relay to Foreman; Foreman holds the state';

/** GET /unattended/built|failed is a report disguised as a read. */
function report(kind: 'built' | 'failed'): RouteSpec {
  return {
    name: `templates.${kind}`,
    method: 'GET',
    pattern: `/unattended/${kind}`,
    kind: 'write',
    retrySafe: false,
    exactlyOnce: true,
    noInverse: RELAY,
  };
}

export const templates: FeatureModule = {
  name: 'templates',
  mounts: ['/unattended', '/userdata'],
  defaultPolicy: FEATURE_DEFAULTS.templates.policy,
  auth: 'none',
  exposedSettings: FEATURE_DEFAULTS.templates.exposedSettings,
  routes: [
    {
      name: 'templates.server',
      method: 'GET',
      pattern: '/unattended/templateServer',
      kind: 'read',
      retrySafe: true,
      // Hosts must fetch templates through proxy-proxy, not from whichever backend answers.
      local: (_call, ctx) => {
        const url = settingText(ctx, 'template_url');
        return url === undefined ? undefined : { status: 200, contentType: 'json', body: JSON.stringify({ templateServer: url }) };
      },
    },
    {
      name: 'templates.hostgroup',
      method: 'GET',
      pattern: '/unattended/:kind/:template/:hostgroup',
      kind: 'read',
      retrySafe: false,
    },
    report('built'),
    report('failed'),
    // Relays: a 5xx is Foreman's answer, relayed; another backend would only ask Foreman again.
    { name: 'templates.get', method: 'GET', pattern: '/unattended/:kind', kind: 'read', retrySafe: false },
    {
      name: 'templates.post',
      method: 'POST',
      pattern: '/unattended/:kind',
      kind: 'write',
      retrySafe: false,
      exactlyOnce: true,
      noInverse: RELAY,
    },
    { name: 'templates.userdata', method: 'GET', pattern: '/userdata/:kind', kind: 'read', retrySafe: false },
  ],
};
