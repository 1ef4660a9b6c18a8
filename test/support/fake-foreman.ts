// A stand-in Foreman for template and registration relays: answers one text line per request
// (as the recorded stand-in did) and remembers what it was asked. OpenSCAP report uploads
// (/api/v2/compliance/arf_reports/…) get Foreman's JSON answer with a new report id; dynflow
// callbacks a 200.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeForeman {
  url: string;
  requests: { method: string; url: string; xff: string | undefined; body: string }[];
  close(): Promise<void>;
}

export async function startFakeForeman(port = 0): Promise<FakeForeman> {
  const requests: FakeForeman['requests'] = [];
  let reports = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const xff = req.headers['x-forwarded-for'] as string | undefined;
      requests.push({ method: req.method!, url: req.url!, xff, body: Buffer.concat(chunks).toString() });
      const [path, query = ''] = req.url!.split('?');
      if (req.method === 'POST' && path!.startsWith('/api/v2/compliance/arf_reports/')) {
        reports += 1;
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify({ result: 'ok', id: String(100 + reports) }));
      }
      const status = path!.endsWith('/built') ? 201 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`FAKE-FOREMAN ${req.method} ${path} query=${query} xff=${xff ?? ''}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${bound}`,
    requests,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
