// /dynflow: a dynflow runner for operations other than the pull script (ansible-runner by
// default). A launch makes tasks that "run" for --task-ms and then report to Foreman the way
// smart_proxy_dynflow does: one POST to /foreman_tasks/api/tasks/callback, {"callback","data"}
// for a single task, {"callbacks":[…]} for a batch (docs/plugin-protocols.md §1).
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import type { SimTask } from './dynflow-store.js';
import { foremanRequest } from './foreman-relay.js';
import { okJson, reply, CT_JSON } from './headers.js';
import { requestState } from './request-state.js';

function planHash(t: SimTask): Record<string, unknown> {
  return {
    id: t.id,
    state: t.state,
    result: t.result,
    label: t.operation,
    started_at: new Date(t.startedAt).toISOString(),
    ended_at: t.endedAt === null ? null : new Date(t.endedAt).toISOString(),
    actions: [],
  };
}

function jsonBody(res: Response): unknown {
  try {
    return JSON.parse(requestState(res).rawBody.toString('utf8'));
  } catch {
    return undefined;
  }
}

function answer(res: Response, status: number, doc: unknown): void {
  reply(res, status, CT_JSON, JSON.stringify(doc));
}

export function dynflowRouter(ctx: SimContext): Router {
  const store = ctx.dynflow;
  const operations = ['single', ...ctx.options.dynflowOperations];
  const r = Router({ strict: true, caseSensitive: true });
  r.use(gate(ctx.options.trustedHosts));

  const finish = (tasks: SimTask[], batch: boolean) => {
    const now = Date.now();
    for (const t of tasks) {
      if (t.state === 'stopped') continue;
      t.state = 'stopped';
      t.result = 'success';
      t.endedAt = now;
    }
    const done = tasks.filter((t) => t.result === 'success' && t.callback);
    if (done.length === 0) return;
    const data = (t: SimTask) => ({ result: 'success', exit_status: 0, output: [{ output_type: 'stdout', output: `fake ${t.operation} run by ${ctx.options.name}\n`, timestamp: now / 1000 }] });
    const body = batch ? { callbacks: done.map((t) => ({ callback: t.callback, data: data(t) })) } : { callback: done[0]!.callback, data: data(done[0]!) };
    foremanRequest(ctx, 'POST', '/foreman_tasks/api/tasks/callback', { 'Content-Type': 'application/json', Accept: 'application/json' }, Buffer.from(JSON.stringify(body))).then(
      (a) => done.forEach((t) => t.callbacks.push(String(a.status))),
      (err: Error) => done.forEach((t) => t.callbacks.push(`error: ${err.message}`)),
    );
  };

  const launch = (req: Request, res: Response) => {
    const doc = jsonBody(res) as { operation?: unknown; input?: Record<string, unknown> } | undefined;
    const op = doc?.operation;
    if (typeof op !== 'string' || !operations.includes(op)) return answer(res, 404, { error: `Unknown operation '${String(op)}' requested.` });
    const input = doc!.input ?? {};
    if (op === 'single') {
      const actionInput = (input as { action_input?: { callback?: unknown } }).action_input;
      const t = store.add({ id: randomUUID(), parentId: null, operation: op, callback: actionInput?.callback ?? null, input });
      store.later(ctx.options.taskMs, () => finish([t], false));
      return okJson(res, { result: 'success', task_id: t.id });
    }
    const parent = store.add({ id: randomUUID(), parentId: null, operation: op, callback: null, input: null });
    const children = Object.entries(input).map(([id, child]) =>
      store.add({ id, parentId: parent.id, operation: op, callback: (child as { action_input?: { callback?: unknown } })?.action_input?.callback ?? null, input: child }),
    );
    // The parent stops once its children exist; the group runner reports them all at once.
    parent.state = 'stopped';
    parent.result = 'success';
    parent.endedAt = Date.now();
    store.later(ctx.options.taskMs, () => finish(children, true));
    void req;
    okJson(res, { parent: { result: 'success', task_id: parent.id } });
  };
  r.post('/tasks/launch', launch);
  r.post('/tasks/launch/', launch);

  const statusList = (full: boolean) => (_req: Request, res: Response) => {
    const ids = ((jsonBody(res) as { task_ids?: unknown } | undefined)?.task_ids ?? []) as unknown[];
    if (full && (!Array.isArray(ids) || ids.length === 0)) return answer(res, 422, { error: "'task_ids' needs to be provided and be a non-empty array of task UUIDs" });
    const out: Record<string, unknown> = {};
    for (const id of Array.isArray(ids) ? ids : []) {
      const t = typeof id === 'string' ? store.tasks.get(id) : undefined;
      if (t) out[t.id] = full ? planHash(t) : { id: t.id, state: t.state, result: t.result };
    }
    okJson(res, out);
  };
  r.post('/tasks/status', statusList(false));
  r.post('/tasks/statuses', statusList(true));

  r.get('/tasks/count', (req, res) => {
    const state = requestState(res).query.get('state');
    const s = typeof state === 'string' ? state : 'all';
    const n = [...store.tasks.values()].filter((t) => s === 'all' || t.state === s).length;
    void req;
    okJson(res, { count: n, state: s });
  });
  r.get('/tasks/operations', (_req, res) => okJson(res, operations));

  r.post('/tasks/:id/cancel', (req, res) => {
    const t = store.tasks.get(req.params.id!);
    if (!t) return answer(res, 404, {});
    const running = t.state === 'running';
    if (running) {
      t.state = 'stopped';
      t.result = 'cancelled';
      t.endedAt = Date.now();
    }
    okJson(res, { task_id: t.id, canceled_steps_count: running ? 1 : 0 });
  });
  r.get('/tasks/:id/status', (req, res) => {
    const t = store.tasks.get(req.params.id!);
    if (!t) return answer(res, 404, {});
    okJson(res, planHash(t));
  });
  return r;
}
