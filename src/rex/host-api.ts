// The routes hosts call (rex-pull.md §3), mounted at /ssh. A host is the CN of its client
// certificate and nothing else: no certificate is 403, someone else's job is 404, exactly like
// an unknown one. Every non-200 answer has an empty body, since yggdrasil 0.4 would run an error
// page as the script. Fetch and update wait for their own commit (group commit), never for a
// queue slot: under load hosts are slowed, not turned away.
import type { GroupCommit } from './group-commit.js';
import type { JobStore } from '../state/job-store.js';
import { DELIVERY_PARAM } from './doorbell-message.js';
import { empty, json, jsonError, segments, type RexAnswer, type RexCall } from './rex-call.js';
import { parseUpdate } from './update-body.js';

export interface HostContext {
  store: JobStore;
  commits: GroupCommit;
  maxOutputBytes(): number;
  /** Served at /ssh/pubkey. */
  publicKey(): string;
  /** A host's exit finished a job: its callback and its rate-limit slot are due. */
  finished(): void;
}

const FEATURE = 'script';

export async function hostRoute(call: RexCall, ctx: HostContext): Promise<RexAnswer | undefined> {
  if (!call.path.startsWith('/ssh/')) return undefined;
  const seg = segments(call.path, '/ssh');
  if (!seg) return undefined;
  const answer = (a: RexAnswer['answer'], route: string): RexAnswer => ({ answer: a, feature: FEATURE, route: `script.${route}` });

  // Foreman reads these when it refreshes a proxy with the Script feature; no authentication.
  if (call.method === 'GET' && seg.length === 1 && seg[0] === 'pubkey') return answer({ status: 200, contentType: 'html', body: ctx.publicKey() }, 'pubkey');
  if (call.method === 'GET' && seg.length === 1 && seg[0] === 'ca_pubkey') return answer({ status: 200, contentType: 'html', body: '' }, 'ca_pubkey');

  if (seg[0] !== 'jobs' || seg.length > 3) return undefined;
  const [, uuid, action] = seg;
  const route =
    call.method === 'GET' && seg.length === 1
      ? 'jobs'
      : call.method === 'GET' && seg.length === 2
        ? 'fetch'
        : call.method === 'GET' && action === 'cancel'
          ? 'cancel'
          : call.method === 'POST' && action === 'update'
            ? 'update'
            : undefined;
  if (!route || (uuid !== undefined && uuid === '')) return undefined;

  const host = call.client.https && call.client.hasCert ? call.client.certCn : null;
  if (!host) return answer(empty(403), route);
  const delivery = new URLSearchParams(call.rawQuery).get(DELIVERY_PARAM) ?? '';

  switch (route) {
    case 'jobs':
      return answer(json(200, ctx.store.hostQueue(host)), route);
    case 'fetch': {
      // HEAD must not count as the fetch that starts the job.
      const job = call.head
        ? ctx.store.deliverable(uuid!, host)
        : await ctx.commits.run(() => ctx.store.deliver(uuid!, host, delivery, Date.now()), true);
      if (!job) return answer(empty(404), route);
      const headers = job.effectiveUser ? { 'X-Foreman-Effective-User': job.effectiveUser } : undefined;
      return answer({ status: 200, contentType: 'text', body: job.script, ...(headers ? { extraHeaders: headers } : {}) }, route);
    }
    case 'cancel':
      return answer(empty(ctx.store.activeJob(uuid!, host) ? 200 : 404), route);
    case 'update': {
      const parsed = parseUpdate(call.body);
      if ('error' in parsed) return answer(jsonError(400, parsed.error), route);
      const outcome = await ctx.commits.run(() => ctx.store.applyUpdates(uuid!, host, delivery, parsed.updates, Date.now(), ctx.maxOutputBytes()), true);
      if (outcome === 'unknown') return answer(empty(404), route);
      if (outcome === 'accepted') return answer(empty(200), route);
      ctx.finished();
      // The host is done with us until its next job: an idle keep-alive TLS connection per host
      // would hold memory for thousands of hosts that have nothing more to say.
      return answer({ ...empty(200), extraHeaders: { Connection: 'close' } }, route);
    }
  }
}
