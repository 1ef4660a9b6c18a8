// HTTP and HTTPS listeners as the smart proxy runs them: HTTPS asks for a client certificate
// and verifies it against ssl_ca_file when one is sent (VERIFY_PEER without FAIL_IF_NO_PEER_CERT),
// TLS 1.2 at least. A certificate from an unknown CA never reaches HTTP.
import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/types.js';
import { claimSocket, type InheritedSocket } from './socket-activation.js';

export type Scheme = 'http' | 'https';
export type RequestListener = (req: http.IncomingMessage, res: http.ServerResponse, scheme: Scheme) => void;

export interface BoundListener {
  scheme: Scheme;
  host: string;
  port: number;
  server: http.Server;
  /** The listening socket came from systemd (socket activation) and outlives the process. */
  inherited?: boolean;
}

function listenHost(bind: string): string {
  return bind === '*' ? '::' : bind;
}

/**
 * Opens every configured listener, each on a socket from `inherited` (systemd socket
 * activation; the ones used are taken out of it) when one matches, else bound here.
 */
export async function openListeners(cfg: Config, onRequest: RequestListener, inherited: InheritedSocket[] = []): Promise<BoundListener[]> {
  const out: BoundListener[] = [];
  for (const bind of cfg.bind_host) {
    if (cfg.http_port !== undefined) {
      const server = http.createServer((req, res) => onRequest(req, res, 'http'));
      out.push(await listen(server, 'http', listenHost(bind), cfg.http_port, inherited));
    }
    if (cfg.https_port !== undefined && cfg.ssl_certificate && cfg.ssl_private_key && cfg.ssl_ca_file) {
      const server = https.createServer(
        {
          cert: readFileSync(cfg.ssl_certificate),
          key: readFileSync(cfg.ssl_private_key),
          ca: readFileSync(cfg.ssl_ca_file),
          requestCert: true,
          // Checked below: a missing certificate is allowed at TLS level, a bad one is not.
          rejectUnauthorized: false,
          minVersion: 'TLSv1.2',
        },
        (req, res) => onRequest(req, res, 'https'),
      );
      server.on('secureConnection', (socket: TLSSocket) => {
        if (!socket.authorized && hasPeerCertificate(socket)) socket.destroy();
      });
      out.push(await listen(server, 'https', listenHost(bind), cfg.https_port, inherited));
    }
  }
  for (const l of out) {
    // Foreman's client holds connections open; keep them longer than its idle reuse.
    l.server.keepAliveTimeout = 65_000;
    l.server.headersTimeout = 66_000;
  }
  return out;
}

export function hasPeerCertificate(socket: TLSSocket): boolean {
  const cert = socket.getPeerCertificate();
  return cert !== null && cert !== undefined && Object.keys(cert).length > 0;
}

/** Whether an authorized peer sent a certificate, and its CN: one decoding of the certificate, which is the costly part. */
export function peerIdentity(socket: TLSSocket): { hasCert: boolean; certCn: string | null } {
  if (!socket.authorized) return { hasCert: false, certCn: null };
  const cert = socket.getPeerCertificate();
  const hasCert = cert !== null && cert !== undefined && Object.keys(cert).length > 0;
  return { hasCert, certCn: hasCert ? commonName(cert) : null };
}

function commonName(cert: ReturnType<TLSSocket['getPeerCertificate']> | undefined): string | null {
  const cn = cert?.subject?.CN as string | string[] | undefined;
  if (Array.isArray(cn)) return cn[0] ?? null;
  return cn ?? null;
}

/** Connections the kernel queues before proxy-proxy accepts them (capped by net.core.somaxconn). */
const LISTEN_BACKLOG = 4096;

function listen(server: http.Server, scheme: Scheme, host: string, port: number, inherited: InheritedSocket[]): Promise<BoundListener> {
  const socket = claimSocket(inherited, scheme, port);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      const addr = server.address() as AddressInfo;
      resolve({ scheme, host: socket ? addr.address : host, port: addr.port, server, ...(socket ? { inherited: true } : {}) });
    };
    if (socket) server.listen({ fd: socket.fd }, done);
    // As systemd/proxy-proxy.socket has it: a burst of hosts rung at once (rate_limit, 1000 by
    // default) connects at once, and past Node's 511 the kernel drops their SYNs for seconds.
    else server.listen({ port, host, backlog: LISTEN_BACKLOG }, done);
  });
}
