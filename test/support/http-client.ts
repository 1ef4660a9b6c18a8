// A tiny client for tests: real sockets through undici, optional client certificate.
import { Agent, request } from 'undici';

export interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface ClientTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** The name the server certificate must carry (and SNI), when it differs from the URL's host. */
  servername?: string;
}

export interface ClientOptions {
  /** false: a new connection per request, as Foreman's RestClient does (default true). */
  keepAlive?: boolean;
}

export function client(base: string, tls: ClientTls = {}, options: ClientOptions = {}) {
  const dispatcher = new Agent({
    connect: { ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.servername, rejectUnauthorized: tls.ca !== undefined },
    // undici: pipelining 0 means no keep-alive.
    ...(options.keepAlive === false ? { pipelining: 0 } : {}),
  });
  async function send(method: string, path: string, opts: { form?: Record<string, string>; body?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
    const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
    let body: string | undefined = opts.body;
    if (opts.form) {
      body = new URLSearchParams(opts.form).toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    }
    const res = await request(`${base}${path}`, { method: method as 'GET', headers, body, dispatcher });
    const text = await res.body.text();
    const flat: Record<string, string> = {};
    for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: res.statusCode, headers: flat, body: text };
  }
  return {
    get: (path: string, headers?: Record<string, string>) => send('GET', path, { headers }),
    post: (path: string, form?: Record<string, string>, headers?: Record<string, string>) => send('POST', path, { form, headers }),
    put: (path: string, form?: Record<string, string>, headers?: Record<string, string>) => send('PUT', path, { form, headers }),
    delete: (path: string, headers?: Record<string, string>) => send('DELETE', path, { headers }),
    send,
    close: () => dispatcher.close(),
  };
}

export type Client = ReturnType<typeof client>;
