// Sends one recorded request as it was sent: same method, raw path, query and form in the
// recorded order, headers, and over HTTPS with the recorded client certificate (or none).
// One connection per request (`Connection: close`), as the recording was made.
import http from 'node:http';
import https from 'node:https';
import type { Exchange } from './exchange.js';
import type { ReplayRun } from './replay-run.js';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Header names as they came over the wire, in order. */
  rawNames: string[];
  body: string;
}

export function send(ex: Exchange, run: ReplayRun): Promise<Answer> {
  const r = ex.request;
  const pairs = (o: Record<string, string>) => Object.entries(o).map(([k, v]): [string, string] => [k, run.localize(v)]);
  let query = r.query ? new URLSearchParams(pairs(r.query)) : undefined;
  // The recorded timestamp belongs to that recording; ours was taken at the marker request.
  if (ex.id === 'logs-from-timestamp') query = new URLSearchParams({ from_timestamp: run.fromTimestamp.toFixed(6) });
  const path = r.path + (query ? '?' + query.toString() : '');
  let body: Buffer | undefined;
  if (r.form) body = Buffer.from(new URLSearchParams(pairs(r.form)).toString());
  else if (r.body !== undefined) body = Buffer.from(r.body);
  const headers: Record<string, string> = { ...r.headers };
  if (body !== undefined) headers['Content-Length'] = String(body.length);
  const tls = r.scheme === 'https';
  const cert = r.client_cert ? run.clientCerts.get(r.client_cert) : undefined;
  return new Promise((resolve, reject) => {
    const options = {
      host: '127.0.0.1',
      port: tls ? run.target.httpsPort : run.target.httpPort,
      method: r.method,
      path,
      headers,
      agent: false as const,
      ...(tls ? { ca: run.ca, cert: cert?.cert, key: cert?.key } : {}),
    };
    const req = (tls ? https : http).request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawNames: res.rawHeaders.filter((_, i) => i % 2 === 0),
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}
