// Logs (/logs): proxy-proxy's own log buffer, in SP's shape. No backend is involved.
import type { FeatureModule } from './module.js';

/** SP reads the last from_timestamp with to_f; anything unreadable means "from the start". */
function fromTimestamp(raw: string | null): number | undefined {
  if (raw === null) return undefined;
  const n = Number.parseFloat(raw);
  return Number.isFinite(n) ? n : undefined;
}

export const logs: FeatureModule = {
  name: 'logs',
  description: 'Logs: proxy-proxy\'s own recent log buffer (answered locally).',
  loadOrder: 100,
  mounts: ['/logs'],
  defaultPolicy: 'primary',
  auth: 'trusted',
  localOnly: true,
  exposedSettings: {},
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
