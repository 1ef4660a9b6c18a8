// A provisioned host as seen from proxy-proxy: requests from its own loopback address
// (127.0.0.5 by default), one attempt each, optionally over HTTPS with its own certificate.
import { Agent, request } from 'undici';

export interface HostReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface HostClientOptions {
  localAddress?: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function hostClient(base: string, opts: HostClientOptions = {}) {
  // undici takes the source address at the client level; inside `connect` it would be overridden.
  const dispatcher = new Agent({
    localAddress: opts.localAddress ?? '127.0.0.5',
    connect: { ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.ca !== undefined },
  });
  async function send(method: 'GET' | 'POST', path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<HostReply> {
    const res = await request(`${base}${path}`, { method, headers: { accept: '*/*', 'user-agent': 'curl/8.5.0', ...init.headers }, body: init.body, dispatcher });
    const body = await res.body.text();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: res.statusCode, headers, body };
  }
  return {
    get: (path: string, headers?: Record<string, string>) => send('GET', path, { headers }),
    post: (path: string, body: string, headers: Record<string, string>) => send('POST', path, { body, headers }),
    close: () => dispatcher.close(),
  };
}

export type HostClient = ReturnType<typeof hostClient>;
