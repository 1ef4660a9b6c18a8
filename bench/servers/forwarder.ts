// The bare Node forwarder: node:http in, undici with a keep-alive pool out, nothing else. The
// ceiling for any Node proxy on this machine. Usage: forwarder.js <target origin>; prints
// {"port": N} once listening.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

const target = process.argv[2]!;
const agent = new Agent({ connections: 128, keepAliveTimeout: 60_000 });
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length', 'upgrade', 'te', 'trailer']);

function endToEnd(h: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const up = await request(target + req.url, {
      method: req.method as 'GET',
      headers: endToEnd(req.headers),
      body: chunks.length ? Buffer.concat(chunks) : undefined,
      dispatcher: agent,
    });
    const body = Buffer.from(await up.body.arrayBuffer());
    res.writeHead(up.statusCode, { ...endToEnd(up.headers as http.IncomingHttpHeaders), 'content-length': body.length });
    res.end(body);
  } catch {
    res.writeHead(502).end();
  }
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n'));
process.once('SIGTERM', () => process.exit(0));
