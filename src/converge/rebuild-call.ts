// Turns a stored request back into the IncomingCall a route's functions expect, so that sagas
// can be finished and compensated after a restart with the same feature code that began them.
import { incomingCall } from '../features/incoming-call.js';
import type { IncomingCall, RouteSpec } from '../features/route.js';
import type { Router } from '../http/router.js';
import type { StoredRequest } from '../state/store.js';

export function rebuildCall(router: Router, stored: StoredRequest): { call: IncomingCall; route: RouteSpec } | undefined {
  const match = router.match(stored.method, stored.path);
  if (!match) return undefined;
  const call = incomingCall({
    method: stored.method,
    path: stored.path,
    rawQuery: stored.query,
    params: match.params,
    body: Buffer.from(stored.body, 'utf8'),
    headers: { ...stored.headers },
  });
  return { call, route: match.route };
}
