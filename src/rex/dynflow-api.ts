// Foreman's side: the dynflow task API (docs/plugin-protocols.md §1) as smart_proxy_dynflow
// answers it, for the operations the spool hosts. Every answer is JSON. Tasks are the spool's jobs, under the ids
// Foreman chose; a batch's parent is kept only so that status queries know it.
import { randomUUID } from 'node:crypto';
import { jobUuid } from './job-uuid.js';
import { notFoundAnswer, type NativeAnswer } from '../http/native-answer.js';
import type { IncomingCall } from '../features/route.js';
import { SpoolUnavailableError, type JobStore, type NewJob } from '../state/job-store.js';
import type { GroupCommit } from './group-commit.js';
import { isRefusal, OPERATIONS, parseLaunch, parseTrigger, type LaunchLimits, type ValidJob } from './launch-input.js';
import { jobPlanHash, jobStatus, parentPlanHash, parentStatus } from './plan-hash.js';
import { json, jsonError } from './rex-call.js';

export interface DynflowContext {
  store: JobStore;
  commits: GroupCommit;
  limits(): LaunchLimits;
  /** New jobs are in the spool: ring their doorbells. */
  launched(count: number, existing: string[]): void;
  /** Cancels one task; the number of steps cancelled, or undefined for an unknown task. */
  cancel(taskId: string): Promise<number | undefined>;
}

/**
 * The hosted spool's answer to one dynflow route (features/dynflow.ts); authorization was done
 * by the router. `launch` is only called for operations the spool hosts.
 */
export async function dynflowRoute(route: string, call: IncomingCall, ctx: DynflowContext): Promise<NativeAnswer> {
  try {
    return await answer(route, call, ctx);
  } catch (err) {
    // Nothing was recorded: Foreman is told so, and may try again (its task fails otherwise).
    if (err instanceof SpoolUnavailableError) return { ...jsonError(503, err.message), extraHeaders: { 'Retry-After': String(RETRY_AFTER_S) } };
    throw err;
  }
}

/** Seconds a client is asked to wait before trying again while the spool is unreachable. */
const RETRY_AFTER_S = 5;

async function answer(route: string, call: IncomingCall, ctx: DynflowContext): Promise<NativeAnswer> {
  switch (route) {
    case 'dynflow.launch':
      return launch(call.body, ctx);
    case 'dynflow.trigger':
      return trigger(call.body, ctx);
    case 'dynflow.status':
      return statusList(call.body, ctx, false);
    case 'dynflow.statuses':
      return statusList(call.body, ctx, true);
    case 'dynflow.count':
      return count(call.rawQuery, ctx.store);
    case 'dynflow.operations':
      return json(200, OPERATIONS);
    case 'dynflow.cancel': {
      const id = call.params.task_id!;
      const steps = await ctx.cancel(id);
      return steps === undefined ? json(404, {}) : json(200, { task_id: id, canceled_steps_count: steps });
    }
    case 'dynflow.task_status':
      return planHash(call.params.task_id!, ctx.store);
    default:
      return notFoundAnswer();
  }
}

function newJob(taskId: string, parentId: string | null, operation: string, v: ValidJob, now: number): NewJob {
  return {
    taskId,
    parentId,
    jobUuid: jobUuid(now),
    host: v.host,
    operation,
    callback: v.callback,
    input: v.input,
    script: v.script,
    effectiveUser: v.effectiveUser,
    baseUrl: v.baseUrl,
    pickupDue: now + v.timeToPickup * 1000,
    execDue: v.executionTimeout === null ? null : now + v.executionTimeout * 1000,
  };
}

async function launch(body: Buffer, ctx: DynflowContext) {
  const request = parseLaunch(body, ctx.limits());
  if (isRefusal(request)) return jsonError(request.status, request.error);
  const now = Date.now();
  if (request.operation === 'single') {
    const taskId = randomUUID();
    await store(ctx, null, [newJob(taskId, null, 'single', request.job, now)], now);
    return json(200, { result: 'success', task_id: taskId });
  }
  // Children are stored under Foreman's plan uuids, in the same transaction as their parent:
  // the answer names only the parent (the batch launcher's shape), and every child exists by then.
  // Time-ordered like job uuids: the spool's indexes on parents grow at their end.
  const parentId = jobUuid(now);
  const jobs = request.children.map((c) => newJob(c.taskId, parentId, 'ssh', c.job, now));
  await store(ctx, { id: parentId, operation: 'ssh' }, jobs, now);
  return json(200, { parent: { result: 'success', task_id: parentId } });
}

/** POST /dynflow/tasks: {"action_name","action_input"} → {"task_id"}. */
async function trigger(body: Buffer, ctx: DynflowContext) {
  const job = parseTrigger(body, ctx.limits());
  if (isRefusal(job)) return jsonError(job.status, job.error);
  const now = Date.now();
  const taskId = randomUUID();
  await store(ctx, null, [newJob(taskId, null, 'single', job, now)], now);
  return json(200, { task_id: taskId });
}

async function store(ctx: DynflowContext, parent: { id: string; operation: string } | null, jobs: NewJob[], now: number): Promise<void> {
  // A barrier: Foreman is told next, and from then on it relies on these tasks existing.
  const { existing } = await ctx.commits.run((tx) => tx.insertLaunch(parent, jobs, now), true);
  ctx.launched(jobs.length - existing.length, existing);
}

async function statusList(body: Buffer, ctx: DynflowContext, full: boolean) {
  let doc: unknown;
  try {
    doc = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch (err) {
    return jsonError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
  const ids = (doc as { task_ids?: unknown } | null)?.task_ids ?? [];
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) return jsonError(400, "'task_ids' must be a list of task ids");
  if (full && ids.length === 0) return jsonError(422, "'task_ids' must be a non-empty list of task ids");
  const now = Date.now();
  const out: Record<string, unknown> = {};
  // Known ids only: Foreman reads an absent child as "gone missing"
  // (docs/protocol/rex-pull.md §1.5).
  for (const id of ids as string[]) {
    const job = await ctx.store.task(id);
    if (job) {
      out[id] = full ? jobPlanHash(job, await ctx.store.output(id), now) : jobStatus(job);
      continue;
    }
    const parent = await ctx.store.parent(id);
    if (parent) out[id] = full ? parentPlanHash(parent, now) : parentStatus(parent);
  }
  return json(200, out);
}

async function count(rawQuery: string, store: JobStore) {
  const state = new URLSearchParams(rawQuery).get('state') ?? 'all';
  // Jobs run until they finished; parents are counted as stopped (Foreman compares the running
  // count between proxies, and the jobs are what load this one). docs/remote-execution.md.
  const n =
    state === 'running'
      ? await store.countJobs('unfinished')
      : state === 'stopped'
        ? (await store.countJobs('finished')) + (await store.countParents())
        : state === 'all'
          ? (await store.countJobs('all')) + (await store.countParents())
          : 0;
  return json(200, { count: n, state });
}

async function planHash(id: string, store: JobStore) {
  const job = await store.task(id);
  if (job) return json(200, jobPlanHash(job, await store.output(id), Date.now()));
  const parent = await store.parent(id);
  // smart_proxy_dynflow answers an unknown plan with 404 and an empty object.
  return parent ? json(200, parentPlanHash(parent, Date.now())) : json(404, {});
}
