// What proxy-proxy asks of a backend's dynflow API on its own behalf: the operations it runs
// (cached briefly: a launch should not cost a round trip per backend) and how busy it is.
import type { Backend } from '../backends/backend.js';

const OPERATIONS_TTL_MS = 10_000;

export class BackendTasks {
  private readonly operationsCache = new Map<string, { at: number; ops: string[] }>();

  /** The operations a backend runs; undefined when it could not be asked. */
  async operations(backend: Backend, requestId: string): Promise<string[] | undefined> {
    const cached = this.operationsCache.get(backend.name);
    if (cached && Date.now() - cached.at < OPERATIONS_TTL_MS) return cached.ops;
    const doc = await getJson(backend, '/dynflow/tasks/operations', requestId);
    if (!Array.isArray(doc)) return cached?.ops;
    const ops = doc.filter((x): x is string => typeof x === 'string');
    this.operationsCache.set(backend.name, { at: Date.now(), ops });
    return ops;
  }

  /** `GET /dynflow/tasks/count?state=…` of one backend; undefined when it could not be asked. */
  async count(backend: Backend, rawQuery: string, requestId: string): Promise<number | undefined> {
    const doc = (await getJson(backend, `/dynflow/tasks/count${rawQuery ? `?${rawQuery}` : ''}`, requestId)) as { count?: unknown } | undefined;
    return typeof doc?.count === 'number' ? doc.count : undefined;
  }
}

async function getJson(backend: Backend, path: string, requestId: string): Promise<unknown> {
  try {
    const a = await backend.send({ method: 'GET', path, headers: { accept: 'application/json', 'x-request-id': requestId } });
    if (a.status !== 200) return undefined;
    return JSON.parse(a.body.toString('utf8'));
  } catch {
    return undefined;
  }
}
