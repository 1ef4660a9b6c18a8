// HTTP and HTTPS listeners as the smart proxy runs them: HTTPS asks for a client certificate
// and verifies it against ssl_ca_file when one is sent (VERIFY_PEER without FAIL_IF_NO_PEER_CERT),
// TLS 1.2 at least. A certificate from an unknown CA never reaches HTTP.
import { constants } from 'node:crypto';
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
        httpsServerOptions({ certificate: cfg.ssl_certificate, privateKey: cfg.ssl_private_key, caFile: cfg.ssl_ca_file }),
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

/** The HTTPS listener's TLS settings (also what the bench's bare TLS server uses, to compare). */
export function httpsServerOptions(files: { certificate: string; privateKey: string; caFile: string }): https.ServerOptions {
  return {
    cert: readFileSync(files.certificate),
    key: readFileSync(files.privateKey),
    ca: readFileSync(files.caFile),
    requestCert: true,
    // Checked on 'secureConnection': a missing certificate is allowed at TLS level, a bad one is not.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
    // No session tickets: nobody resumes (yggd's TLS client keeps no session cache, Foreman
    // opens a new client per call), yet OpenSSL would seal two tickets after every TLS 1.3
    // handshake, each encoding the session and decoding its peer certificate again: about
    // a sixth of the server's CPU for a connection per REX job (docs/design-notes.md).
    secureOptions: constants.SSL_OP_NO_TICKET,
  };
}

export function hasPeerCertificate(socket: TLSSocket): boolean {
  const cert = socket.getPeerCertificate();
  return cert !== null && cert !== undefined && Object.keys(cert).length > 0;
}

/**
 * Whether an authorized peer sent a certificate, and its CN. Read from the X509Certificate's
 * subject line rather than getPeerCertificate(), which decodes the whole certificate (public key,
 * three fingerprints) into an object: ten times the cost, once per connection, a REX job's each.
 */
export function peerIdentity(socket: TLSSocket): { hasCert: boolean; certCn: string | null } {
  if (!socket.authorized) return { hasCert: false, certCn: null };
  const cert = socket.getPeerX509Certificate();
  if (!cert) return { hasCert: false, certCn: null };
  const subject = cert.subject;
  // The line form escapes special characters (RFC 2253) and joins a multi-valued RDN with
  // ' + '; such a name is read from the decoded object instead, which holds it as it is.
  if (subject.includes('\\') || subject.includes(' + ')) return { hasCert: true, certCn: commonName(socket.getPeerCertificate()) };
  return { hasCert: true, certCn: subjectCn(subject) };
}

/** The first CN of a subject in its one-attribute-per-line form, as the decoded object's CN[0]. */
export function subjectCn(subject: string): string | null {
  for (const line of subject.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return null;
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
