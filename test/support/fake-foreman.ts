// A stand-in Foreman for template and registration relays: answers one text line per request
// (as the recorded stand-in did) and remembers what it was asked.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeForeman {
  url: string;
  requests: { method: string; url: string; xff: string | undefined; body: string }[];
  close(): Promise<void>;
}

export async function startFakeForeman(): Promise<FakeForeman> {
  const requests: FakeForeman['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const xff = req.headers['x-forwarded-for'] as string | undefined;
      requests.push({ method: req.method!, url: req.url!, xff, body: Buffer.concat(chunks).toString() });
      const [path, query = ''] = req.url!.split('?');
      const status = path!.endsWith('/built') ? 201 : 200;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(`FAKE-FOREMAN ${req.method} ${path} query=${query} xff=${xff ?? ''}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
