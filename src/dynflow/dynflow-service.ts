// The dynflow routes (features/dynflow.ts) over the hosted spool and the backends. Operations
// proxy-proxy hosts go to the spool; any other goes to one backend that runs it, and every later
// call about its tasks goes to that backend only, through the owners recorded in the state store
// (docs/plugin-protocols.md §1). Results travel from the backend to Foreman directly.
import type { Backend } from '../backends/backend.js';
import { BackendCallError } from '../backends/call-error.js';
import type { IncomingCall, ModuleService, RouteSpec, ServiceAnswer } from '../features/route.js';
import { forwardHeaders } from '../fanout/outgoing.js';
import { errorAnswer, notFoundAnswer } from '../http/native-answer.js';
import type { Logger } from '../ops/logger.js';
import type { PluginStore } from '../state/plugin-store.js';
import { BackendTasks } from './backend-tasks.js';

export interface DynflowDeps {
  /** The dynflow feature's backends in the running configuration, in order. */
  backends(): Backend[];
  /** Any configured backend by name: a task stays with its owner even if the feature's list changed. */
  backend(name: string): Backend | undefined;
  store: PluginStore;
  /** The pull-mqtt spool and the operations it hosts; absent with rex.mode: forward. */
  hosted?: { service: ModuleService; operations: readonly string[] };
  /** Body limit of dynflow requests when nothing is hosted. */
  maxLaunchBytes(): number;
  logger: Logger;
}

type Answer = ServiceAnswer;

const json = (status: number, doc: unknown): Answer => ({ status, contentType: 'json', body: JSON.stringify(doc) });

export class DynflowService implements ModuleService {
  private readonly tasks = new BackendTasks();

  constructor(private readonly deps: DynflowDeps) {}

  bodyLimit(route: RouteSpec): number | undefined {
    return this.deps.hosted?.service.bodyLimit?.(route) ?? this.deps.maxLaunchBytes();
  }

  /** Like every other dynflow error: JSON {"error": …} (smart_proxy_dynflow sets content_type :json for all). */
  tooLarge(_route: RouteSpec, message: string): Answer {
    return json(413, { error: `${message} (rex.max_launch_bytes)` });
  }

  async serve(route: RouteSpec, call: IncomingCall): Promise<Answer | undefined> {
    switch (route.name) {
      case 'dynflow.launch':
        return this.launch(route, call);
      case 'dynflow.trigger':
        return this.deps.hosted ? this.deps.hosted.service.serve(route, call) : this.trigger(call);
      case 'dynflow.status':
      case 'dynflow.statuses':
        return this.statusList(route, call);
      case 'dynflow.count':
        return this.count(route, call);
      case 'dynflow.operations':
        return this.operations(route, call);
      case 'dynflow.cancel':
      case 'dynflow.task_status':
      case 'dynflow.update':
      case 'dynflow.done':
        return this.perTask(route, call);
      default:
        return (await this.deps.hosted?.service.serve(route, call)) ?? notFoundAnswer();
    }
  }

  private async launch(route: RouteSpec, call: IncomingCall): Promise<Answer | undefined> {
    const hosted = this.deps.hosted;
    const doc = parseJson(call.body) as { operation?: unknown; input?: unknown } | undefined;
    const operation = typeof doc?.operation === 'string' ? doc.operation : undefined;
    // Hosted operations, and anything malformed while a spool can word the refusal.
    if (hosted && (operation === undefined || hosted.operations.includes(operation))) return hosted.service.serve(route, call);
    if (!doc || typeof doc !== 'object') return json(400, { error: 'request body is not a JSON object' });
    if (operation === undefined) return json(400, { error: "'operation' is missing" });

    const available = this.deps.backends().filter((b) => b.health.available);
    const runs = await Promise.all(available.map(async (b) => ((await this.tasks.operations(b, requestIdOf(call))) ?? []).includes(operation)));
    const candidates = available.filter((_, i) => runs[i]);
    if (candidates.length === 0) {
      const elsewhere = this.deps.backends().some((b) => !b.health.available);
      if (elsewhere) return errorAnswer(call.headers, 503, `no healthy backend runs dynflow operation '${operation}' right now`);
      // smart_proxy_dynflow's own answer for an operation nobody registered.
      return json(404, { error: `Unknown operation '${operation}' requested.` });
    }
    const ordered = await this.leastLoadedFirst(candidates, requestIdOf(call));
    // A batch's children are named by Foreman (the keys of input): recorded before the launch is
    // sent, so that a poll finds their owner even if this process stops before the answer.
    const children = operation !== 'single' && doc.input && typeof doc.input === 'object' ? Object.keys(doc.input) : [];
    return this.sendToFirst(ordered, call, operation, children, (answer) => {
      const body = parseJson(answer.body) as { task_id?: unknown; parent?: { task_id?: unknown } } | undefined;
      const id = body?.parent?.task_id ?? body?.task_id;
      return typeof id === 'string' ? [id] : [];
    });
  }

  /** POST /dynflow/tasks without a hosted spool: the least loaded healthy backend. */
  private async trigger(call: IncomingCall): Promise<Answer> {
    const available = this.deps.backends().filter((b) => b.health.available);
    if (available.length === 0) return errorAnswer(call.headers, 503, 'no healthy dynflow backend to run the task');
    const ordered = await this.leastLoadedFirst(available, requestIdOf(call));
    return this.sendToFirst(ordered, call, 'trigger', [], (answer) => {
      const id = (parseJson(answer.body) as { task_id?: unknown } | undefined)?.task_id;
      return typeof id === 'string' ? [id] : [];
    });
  }

  /**
   * Sends the launch to the first backend; moves on only while it surely was not sent (refused
   * connection). Once it may have arrived it is never sent again.
   */
  private async sendToFirst(
    ordered: Backend[],
    call: IncomingCall,
    operation: string,
    before: string[],
    created: (answer: { status: number; body: Buffer }) => string[],
  ): Promise<Answer> {
    const tried: string[] = [];
    for (const backend of ordered) {
      try {
        await this.deps.store.recordTaskOwners(before, backend.name, operation, Date.now());
      } catch (err) {
        return errorAnswer(call.headers, 500, `could not record the owner of the tasks in the state store, nothing launched: ${(err as Error).message}`);
      }
      let answer;
      try {
        answer = await backend.send(this.outgoing(call));
      } catch (err) {
        const e = err as BackendCallError;
        if (e instanceof BackendCallError && e.surelyNotSent) {
          tried.push(`${backend.name} (${e.code})`);
          continue;
        }
        this.deps.logger.error(`dynflow ${operation}: launch sent to ${backend.name}, no answer (${e.message}); not sent again`);
        return errorAnswer(call.headers, 503, `the launch may have reached backend ${backend.name} but no answer came (${e.message}); it is not sent again`);
      }
      if (answer.status >= 200 && answer.status < 300) {
        const ids = created(answer);
        try {
          await this.deps.store.recordTaskOwners(ids, backend.name, operation, Date.now());
        } catch (err) {
          this.deps.logger.error(`dynflow ${operation}: task(s) ${ids.join(', ')} launched on ${backend.name}, owner not recorded: ${(err as Error).message}`);
          return errorAnswer(call.headers, 500, `launched on backend ${backend.name}, but its owner could not be recorded: ${(err as Error).message}`);
        }
      }
      return relay(answer);
    }
    return errorAnswer(call.headers, 503, `no dynflow backend could be reached for the launch: ${tried.join(', ')}`);
  }

  private async leastLoadedFirst(backends: Backend[], requestId: string): Promise<Backend[]> {
    const counts = await Promise.all(backends.map((b) => this.tasks.count(b, 'state=running', requestId)));
    return backends
      .map((b, i) => ({ b, i, n: counts[i] ?? Number.POSITIVE_INFINITY }))
      .sort((x, y) => x.n - y.n || x.i - y.i)
      .map((x) => x.b);
  }

  private async statusList(route: RouteSpec, call: IncomingCall): Promise<Answer | undefined> {
    const doc = parseJson(call.body);
    const ids = call.body.length === 0 ? [] : (doc as { task_ids?: unknown } | undefined)?.task_ids;
    const hosted = this.deps.hosted;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) {
      return hosted ? hosted.service.serve(route, call) : json(400, { error: "'task_ids' must be a list of task ids" });
    }
    if (route.name === 'dynflow.statuses' && ids.length === 0) {
      return json(422, { error: "'task_ids' needs to be provided and be a non-empty array of task UUIDs" });
    }
    const owners = await this.deps.store.taskOwners(ids as string[]);
    const merged: Record<string, unknown> = {};
    if (hosted) {
      const own = await hosted.service.serve(route, call);
      if (own && own.status !== 200) return own;
      Object.assign(merged, own ? (parseJson(Buffer.from(own.body)) as object) : {});
    }
    const byBackend = new Map<string, string[]>();
    for (const [id, name] of owners) byBackend.set(name, [...(byBackend.get(name) ?? []), id]);
    const parts = await Promise.all(
      [...byBackend].map(async ([name, group]) => {
        const body = Buffer.from(JSON.stringify({ task_ids: group }));
        return { name, group, result: await this.toOwner(name, { ...call, body }) };
      }),
    );
    for (const { name, group, result } of parts) {
      if ('down' in result) return errorAnswer(call.headers, 503, `${group.length} of these tasks live on backend ${name}, which cannot be reached (${result.down}); they are not looked for elsewhere`);
      const part = result.answer.status === 200 ? parseJson(result.answer.body) : undefined;
      if (!part || typeof part !== 'object') return errorAnswer(call.headers, 503, `backend ${name} answered ${result.answer.status} for the status of its tasks`);
      Object.assign(merged, part);
    }
    return json(200, merged);
  }

  private async perTask(route: RouteSpec, call: IncomingCall): Promise<Answer | undefined> {
    const id = call.params.task_id!;
    const owner = (await this.deps.store.taskOwners([id])).get(id);
    if (owner === undefined) return (await this.deps.hosted?.service.serve(route, call)) ?? json(404, {});
    const result = await this.toOwner(owner, call);
    if ('down' in result) return errorAnswer(call.headers, 503, `task ${id} lives on backend ${owner}, which cannot be reached (${result.down}); it is not looked for elsewhere`);
    return relay(result.answer);
  }

  private async count(route: RouteSpec, call: IncomingCall): Promise<Answer> {
    const state = call.query.get('state') ?? 'all';
    let total = 0;
    if (this.deps.hosted) {
      const own = await this.deps.hosted.service.serve(route, call);
      const n = own ? (parseJson(Buffer.from(own.body)) as { count?: unknown } | undefined)?.count : undefined;
      if (typeof n === 'number') total += n;
    }
    const counts = await Promise.all(this.deps.backends().filter((b) => b.health.available).map((b) => this.tasks.count(b, call.rawQuery, requestIdOf(call))));
    for (const n of counts) total += n ?? 0;
    return json(200, { count: total, state });
  }

  private async operations(route: RouteSpec, call: IncomingCall): Promise<Answer> {
    const out: string[] = [];
    if (this.deps.hosted) out.push(...this.deps.hosted.operations);
    const lists = await Promise.all(this.deps.backends().filter((b) => b.health.available).map((b) => this.tasks.operations(b, requestIdOf(call))));
    for (const op of lists.flatMap((l) => l ?? [])) if (!out.includes(op)) out.push(op);
    void route;
    return json(200, out);
  }

  /** The call, sent as it came to the backend that owns its tasks. */
  private async toOwner(name: string, call: IncomingCall): Promise<{ answer: { status: number; headers: Record<string, string>; body: Buffer } } | { down: string }> {
    const backend = this.deps.backend(name);
    if (!backend) return { down: 'no longer configured' };
    if (backend.state !== 'up') return { down: `it is ${backend.state}` };
    try {
      return { answer: await backend.send(this.outgoing(call)) };
    } catch (err) {
      return { down: (err as Error).message };
    }
  }

  private outgoing(call: IncomingCall) {
    const headers = forwardHeaders(call, requestIdOf(call), call.client?.remoteAddress ?? '');
    const path = call.rawQuery ? `${call.path}?${call.rawQuery}` : call.path;
    return { method: call.method, path, headers, body: call.method === 'GET' || call.body.length === 0 ? undefined : call.body };
  }
}

function requestIdOf(call: IncomingCall): string {
  const id = call.requestId ?? call.headers['x-request-id'];
  return (Array.isArray(id) ? id[0] : id) ?? '';
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A backend's answer as it came (dynflow answers JSON). */
function relay(answer: { status: number; headers: Record<string, string>; body: Buffer }): Answer {
  return { status: answer.status, contentType: 'json', body: '', raw: { contentType: answer.headers['content-type'] ?? 'application/json', body: answer.body } };
}
