// Logs (/logs): proxy-proxy's own log buffer, in SP's shape. No backend is involved.
import { FEATURE_DEFAULTS } from './catalog.js';
import type { FeatureModule } from './route.js';

/** SP reads the last from_timestamp with to_f; anything unreadable means "from the start". */
function fromTimestamp(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const n = Number.parseFloat(raw);
  return Number.isFinite(n) ? n : undefined;
}

export const logs: FeatureModule = {
  name: 'logs',
  mounts: ['/logs'],
  defaultPolicy: FEATURE_DEFAULTS.logs.policy,
  auth: 'trusted',
  localOnly: true,
  exposedSettings: FEATURE_DEFAULTS.logs.exposedSettings,
  routes: [
    {
      name: 'logs.buffer',
      method: 'GET',
      pattern: '/logs/?',
      kind: 'read',
      retrySafe: true,
      local: (call, ctx) => ({
        status: 200,
        contentType: 'json',
        body: JSON.stringify(ctx.logs.query(fromTimestamp(call.query.getAll('from_timestamp').at(-1) ?? null))),
      }),
    },
  ],
};
