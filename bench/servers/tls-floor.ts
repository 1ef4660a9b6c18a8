// The floor under a REX job's CPU: a bare node:https server with the daemon's own TLS settings
// (client certificates, no tickets) and nothing behind it. It answers a job fetch with a script
// and an update post with 200, as the daemon does, and does no other work. Own process; prints
// {"port": N} once listening.
// Usage: tls-floor.js <certificate> <private key> <CA file>
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { hasPeerCertificate, httpsServerOptions } from '../../src/http/listeners.js';

const [certificate, privateKey, caFile] = process.argv.slice(2) as [string, string, string];
const script = Buffer.from('#!/bin/sh\necho ok\n');

const server = https.createServer(httpsServerOptions({ certificate, privateKey, caFile }), (req, res) => {
  // As the daemon's authorization does: the peer's certificate subject, once per request.
  const authorized = (req.socket as TLSSocket).getPeerX509Certificate()?.subject !== undefined;
  req.resume();
  req.on('end', () => {
    if (!authorized) res.writeHead(403).end();
    else if (req.method === 'GET') res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(script.length) }).end(script);
    else res.writeHead(200, { 'Content-Length': '0' }).end();
  });
});
server.on('secureConnection', (socket: TLSSocket) => {
  if (!socket.authorized && hasPeerCertificate(socket)) socket.destroy();
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: (server.address() as AddressInfo).port }) + '\n');
});
process.once('SIGTERM', () => process.exit(0));
