// Low-rate calls to backends (health checks, their /v2/features and /version) go through got:
// its hooks and retries pay here, while the forwarding path uses undici for speed.
import http from 'node:http';
import https from 'node:https';
import { got, type Got } from 'got';
import type { Backend } from './backend.js';

export interface ControlAnswer {
  status: number;
  body: string;
}

export class ControlClient {
  private readonly client: Got;

  constructor(backend: Backend, timeoutMs: number) {
    const { ca, cert, key } = backend.tls;
    this.client = got.extend({
      prefixUrl: backend.origin,
      timeout: { request: timeoutMs },
      retry: { limit: 0 },
      throwHttpErrors: false,
      followRedirect: false,
      headers: { accept: 'application/json', 'user-agent': 'proxy-proxy health-check' },
      agent: {
        http: new http.Agent({ keepAlive: true, maxSockets: 2 }),
        https: new https.Agent({ keepAlive: true, maxSockets: 2 }),
      },
      https: { certificateAuthority: ca, certificate: cert, key },
    });
  }

  async get(path: string): Promise<ControlAnswer> {
    const res = await this.client.get(path.replace(/^\//, ''));
    return { status: res.statusCode, body: res.body };
  }
}
