// Low-rate calls to backends (health checks, their /v2/features and /version): a small undici
// pool of their own, so a check never waits behind forwarded traffic and a slow check cannot
// take a forwarding connection. undici is loaded for forwarding anyway; a second HTTP client
// library (got) cost the daemon some 20 MiB of memory for these few calls.
import { Pool } from 'undici';
import type { Backend } from './backend.js';

export interface ControlAnswer {
  status: number;
  body: string;
}

/** undici's names for a connect, header or body wait that ran out; got (used before) said ETIMEDOUT. */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

export class ControlClient {
  private readonly pool: Pool;

  constructor(backend: Backend, timeoutMs: number) {
    const { ca, cert, key } = backend.tls;
    // The timeout bounds the backend's part (connecting, then the answer once the request is
    // written), as for forwarded calls: a check does not fail because this process was busy.
    this.pool = new Pool(backend.origin, {
      connections: 2,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs, ca, cert, key, rejectUnauthorized: true },
    });
  }

  /** GET `path`; any status is an answer. Fails with code ETIMEDOUT when the backend is too slow. */
  async get(path: string): Promise<ControlAnswer> {
    try {
      const res = await this.pool.request({
        method: 'GET',
        path,
        headers: { accept: 'application/json', 'user-agent': 'proxy-proxy health-check' },
      });
      return { status: res.statusCode, body: await res.body.text() };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code && TIMEOUT_CODES.has(code)) throw Object.assign(new Error(`GET ${path}: ${(err as Error).message}`), { code: 'ETIMEDOUT' });
      throw err;
    }
  }

  close(): Promise<void> {
    return this.pool.close().catch(() => this.pool.destroy());
  }
}
