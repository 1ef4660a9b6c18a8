// The fast backend of the pass-through comparison: answers 200 with a small JSON body (the size
// of a smart proxy's GET /dhcp) to any path, as fast as node:http can. Own process; prints
// {"port": N} once listening.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from(JSON.stringify([{ network: '192.168.122.0', netmask: '255.255.255.0', options: { routers: ['192.168.122.1'] } }]));
const headers = { 'Content-Type': 'application/json', 'Content-Length': String(body.length) };

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
// Longer than any client's idle time, so no side closes a pooled connection mid-run.
server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.once('SIGTERM', () => process.exit(0));
