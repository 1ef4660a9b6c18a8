// The bench's own client for the sections that time single requests (fan-out, failover): one
// keep-alive undici pool per target, latency in ms per request.
import { Pool } from 'undici';

export interface Timed {
  status: number;
  ms: number;
  body: string;
}

export class BenchClient {
  private readonly pool: Pool;

  constructor(origin: string, connections = 8) {
    this.pool = new Pool(origin, { connections, keepAliveTimeout: 60_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
  }

  async send(method: 'GET' | 'POST' | 'DELETE', path: string, form?: Record<string, string>): Promise<Timed> {
    const body = form ? new URLSearchParams(form).toString() : undefined;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
    const started = performance.now();
    const res = await this.pool.request({ method, path, headers, body });
    const text = await res.body.text();
    return { status: res.statusCode, ms: performance.now() - started, body: text };
  }

  async json<T>(path: string): Promise<T> {
    const r = await this.send('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body}`);
    return JSON.parse(r.body) as T;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
