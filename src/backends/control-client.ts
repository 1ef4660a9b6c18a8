// Low-rate calls to backends (health checks, their /v2/features and /version): node:http with a
// small keep-alive agent of their own, so a check never waits behind forwarded traffic and a
// slow check cannot take a forwarding connection. Not undici: its HTTP parser is WebAssembly,
// compiled (and later optimised, some 10 MiB of compiler memory) on first use, which an idle
// daemon then paid for its checks alone; forwarding compiles it when traffic comes. Not got
// either (used before): some 20 MiB of a second HTTP client library for these few calls.
import http from 'node:http';
import https from 'node:https';
import type { Backend } from './backend.js';

export interface ControlAnswer {
  status: number;
  body: string;
}

export class ControlClient {
  private readonly url: URL;
  private readonly agent: http.Agent;
  private inFlight = 0;
  private closing = false;

  constructor(
    backend: Backend,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(backend.origin);
    const { ca, cert, key } = backend.tls;
    this.agent = this.url.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 2, ca, cert, key }) : new http.Agent({ keepAlive: true, maxSockets: 2 });
  }

  /**
   * GET `path`; any status is an answer. A backend silent for longer than the timeout (while
   * connecting, or before and while it answers) fails the call with code ETIMEDOUT.
   */
  async get(path: string): Promise<ControlAnswer> {
    this.inFlight += 1;
    try {
      return await this.call(path);
    } finally {
      this.inFlight -= 1;
      if (this.closing && this.inFlight === 0) this.agent.destroy();
    }
  }

  /** Idle connections close now; calls in flight finish first, as before a reload. */
  close(): void {
    this.closing = true;
    if (this.inFlight === 0) this.agent.destroy();
  }

  private call(path: string): Promise<ControlAnswer> {
    const client = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = client.request(
        new URL(path, this.url),
        { agent: this.agent, headers: { accept: 'application/json', 'user-agent': 'proxy-proxy health-check' }, timeout: this.timeoutMs },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error(`GET ${path}: nothing from the backend for ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end();
    });
  }

}
