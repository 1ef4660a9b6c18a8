// Picks the policy for a request. The engine knows routes only by their declared traits (read or
// write, exactly-once, snapshot/restore, confirm), never by module.
import { runFailover } from './failover.js';
import { runPrimary } from './primary.js';
import { runConfirmedRead } from './confirmed-read.js';
import { inService, readPool, runReplicatedWrite } from './replicate-write.js';
import type { PolicyOutcome } from './outcome.js';
import type { RequestContext } from './request-context.js';

export function dispatch(ctx: RequestContext): Promise<PolicyOutcome> {
  const { feature, route } = ctx;
  switch (feature.policy) {
    case 'primary':
      return runPrimary(ctx);
    case 'failover':
      return runFailover(ctx, feature.backends.filter((b) => b.health.inService));
    case 'replicate':
      if (route.kind === 'read') {
        return route.confirm ? runConfirmedRead(ctx, readPool(ctx)) : runFailover(ctx, readPool(ctx));
      }
      // Exactly-once writes (BMC power, realm join…) never fan out, whatever the policy says.
      if (route.exactlyOnce) return runFailover(ctx, inService(ctx));
      return runReplicatedWrite(ctx);
  }
}
