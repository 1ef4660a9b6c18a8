// A stand-in Foreman for template and registration relays: answers one text line per request
// (as the recorded stand-in did) and remembers what it was asked, by whom. OpenSCAP report
// uploads (/api/v2/compliance/arf_reports/…) get Foreman's JSON answer with a new report id;
// dynflow callbacks a 200. Over HTTPS it asks for a client certificate and notes the CN.
import { readFileSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface FakeForemanRequest {
  method: string;
  url: string;
  xff: string | undefined;
  body: string;
  headers: IncomingHttpHeaders;
  /** CN of the client certificate presented over HTTPS; null for none. */
  clientCn?: string | null;
  /** The status this stand-in answered with. */
  status?: number;
}

/** A reply other than the default one; contentType null sends none. */
export interface FakeForemanReply {
  status: number;
  contentType?: string | null;
  body?: string;
}

export interface FakeForeman {
  url: string;
  port: number;
  requests: FakeForemanRequest[];
  /** Decides the reply; undefined (or returning undefined) means the default one. */
  reply: ((req: FakeForemanRequest) => FakeForemanReply | undefined) | undefined;
  close(): Promise<void>;
}

export interface FakeForemanTls {
  cert: string;
  key: string;
  /** CA the client certificates are verified against. */
  ca: string;
}

/** `port`: listen there (a restart on the port of a stopped one); default any free port. */
export async function startFakeForeman(opts: { port?: number; tls?: FakeForemanTls } | number = {}): Promise<FakeForeman> {
  const { port = 0, tls } = typeof opts === 'number' ? { port: opts } : opts;
  const requests: FakeForemanRequest[] = [];
  const fake: FakeForeman = { url: '', port: 0, requests, reply: undefined, close: async () => undefined };
  let reports = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const xff = req.headers['x-forwarded-for'] as string | undefined;
      const seen: FakeForemanRequest = { method: req.method!, url: req.url!, xff, body: Buffer.concat(chunks).toString(), headers: req.headers };
      if (tls) {
        const cn = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
        seen.clientCn = (Array.isArray(cn) ? cn[0] : cn) ?? null;
      }
      requests.push(seen);
      const [path, query = ''] = req.url!.split('?');
      const custom = fake.reply?.(seen);
      if (!custom && req.method === 'POST' && path!.startsWith('/api/v2/compliance/arf_reports/')) {
        reports += 1;
        seen.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ result: 'ok', id: String(100 + reports) }));
      }
      const status = custom?.status ?? (path!.endsWith('/built') ? 201 : 200);
      seen.status = status;
      const contentType = custom ? custom.contentType : 'text/plain';
      res.writeHead(status, contentType === null || contentType === undefined ? {} : { 'content-type': contentType });
      res.end(custom?.body ?? `FAKE-FOREMAN ${req.method} ${path} query=${query} xff=${xff ?? ''}\n`);
    });
  };
  const server = tls
    ? https.createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key), ca: readFileSync(tls.ca), requestCert: true, rejectUnauthorized: false }, handler)
    : http.createServer(handler);
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  fake.port = (server.address() as AddressInfo).port;
  fake.url = `${tls ? 'https' : 'http'}://127.0.0.1:${fake.port}`;
  fake.close = () =>
    new Promise((r) => {
      server.close(() => r());
      server.closeAllConnections();
    });
  return fake;
}
