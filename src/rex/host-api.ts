// The routes hosts call (docs/protocol/rex-pull.md §3), mounted at /ssh. A host is the CN of its
// client certificate and nothing else: no certificate is 403 with the smart proxy's reason, someone
// else's job is 404, exactly like an unknown one. Every other non-200 answer has an empty body,
// since yggdrasil 0.4 would run an error page as the script. Fetch and update wait for their own commit (group commit), never for a
// queue slot: under load hosts are slowed, not turned away.
import type { GroupCommit } from './group-commit.js';
import { SpoolUnavailableError, type JobStore } from '../state/job-store.js';
import { DELIVERY_PARAM } from './doorbell-message.js';
import { empty, json, jsonError } from './rex-call.js';
import type { IncomingCall } from '../features/route.js';
import type { NativeAnswer } from '../http/native-answer.js';
import { parseUpdate } from './update-body.js';

const NO_CERT_HTTPS = 'No client SSL certificate supplied';
const NO_CERT_HTTP = 'could not read client cert from environment';

export interface HostContext {
  store: JobStore;
  commits: GroupCommit;
  maxOutputBytes(): number;
  /** Served at /ssh/pubkey. */
  publicKey(): string;
  /** A host's exit finished a job: its callback and its rate-limit slot are due. */
  finished(): void;
}

/** The spool's answer to one host route (features/script.ts). */
export async function hostRoute(route: string, call: IncomingCall, ctx: HostContext): Promise<NativeAnswer | undefined> {
  // Foreman reads these when it refreshes a proxy with the Script feature; no authentication.
  if (route === 'script.pubkey') return { status: 200, contentType: 'html', body: ctx.publicKey() };
  if (route === 'script.ca_pubkey') return { status: 200, contentType: 'html', body: '' };

  const client = call.client;
  // Without a certificate the smart proxy says why (SP authorize_with_ssl_client, https_cert_cn);
  // a host without one cannot run that text either: its update POST would get the same 403.
  if (!client || !client.hasCert) return { status: 403, contentType: 'html', body: client?.https ? NO_CERT_HTTPS : NO_CERT_HTTP };
  const host = client.https ? client.certCn : null;
  if (!host) return empty(403);
  const uuid = call.params.uuid ?? '';
  const delivery = call.query.get(DELIVERY_PARAM) ?? '';

  try {
    // A short outage of the spool's database is waited out: hosts never retry a lost update.
    return await waitOutOutage(() => hostAnswer(route, call, ctx, host, uuid, delivery));
  } catch (err) {
    // Empty body: yggdrasil 0.4 would run any body as the script. A host with http-retries
    // set retries after Retry-After; the job itself stays undelivered and is rung again.
    if (err instanceof SpoolUnavailableError) return { ...empty(503), extraHeaders: { 'Retry-After': String(RETRY_AFTER_S) } };
    throw err;
  }
}

/** How long a host request waits for an unreachable spool before it is answered 503. */
const HOLD_MS = 10_000;
const RETRY_AFTER_S = 5;

async function waitOutOutage<T>(attempt: () => Promise<T>): Promise<T> {
  const until = Date.now() + HOLD_MS;
  for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof SpoolUnavailableError) || Date.now() + pause > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

async function hostAnswer(route: string, call: IncomingCall, ctx: HostContext, host: string, uuid: string, delivery: string): Promise<NativeAnswer | undefined> {
  switch (route) {
    case 'script.jobs':
      return json(200, await ctx.store.hostQueue(host));
    case 'script.fetch': {
      // HEAD must not count as the fetch that starts the job.
      const job = call.head
        ? await ctx.store.deliverable(uuid, host)
        : await ctx.commits.run((tx) => tx.deliver(uuid, host, delivery, Date.now()), true);
      if (!job) return empty(404);
      const headers = job.effectiveUser ? { 'X-Foreman-Effective-User': job.effectiveUser } : undefined;
      return { status: 200, contentType: 'text', body: job.script, ...(headers ? { extraHeaders: headers } : {}) };
    }
    case 'script.cancel':
      return empty((await ctx.store.activeJob(uuid, host)) ? 200 : 404);
    case 'script.update': {
      const parsed = parseUpdate(call.body);
      if ('error' in parsed) return jsonError(400, parsed.error);
      const outcome = await ctx.commits.run((tx) => tx.applyUpdates(uuid, host, delivery, parsed.updates, Date.now(), ctx.maxOutputBytes()), true);
      if (outcome === 'unknown') return empty(404);
      if (outcome === 'accepted') return empty(200);
      ctx.finished();
      // The host is done with us until its next job: an idle keep-alive TLS connection per host
      // would hold memory for thousands of hosts that have nothing more to say.
      return { ...empty(200), extraHeaders: { Connection: 'close' } };
    }
    default:
      return undefined;
  }
}
