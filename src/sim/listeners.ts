// The API listeners (plain and/or TLS) with the stop/start-on-the-same-port switch that the
// `refuse` fault needs. TLS asks for a client certificate but lets clients without one in,
// as SP's VERIFY_PEER does; a certificate that does not verify ends the connection.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Express } from 'express';
import type { SimOptions } from './options.js';

interface Listener {
  server: http.Server;
  port: number;
  tls: boolean;
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function close(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    // Open keep-alive and hung connections would otherwise keep serving (or block close).
    server.closeAllConnections();
  });
}

export class ApiListeners {
  private listeners: Listener[] = [];
  private refused = false;

  constructor(
    private readonly app: Express,
    private readonly options: SimOptions,
  ) {}

  private makeServer(tls: boolean): http.Server {
    if (!tls) return http.createServer(this.app);
    const o = this.options;
    const server = https.createServer(
      {
        cert: readFileSync(o.sslCertificate as string),
        key: readFileSync(o.sslPrivateKey as string),
        ca: readFileSync(o.sslCaFile as string),
        requestCert: true,
        rejectUnauthorized: false,
        minVersion: 'TLSv1.2',
      },
      this.app,
    );
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      const cert = socket.getPeerCertificate();
      if (!socket.authorized && cert && Object.keys(cert).length > 0) socket.destroy();
    });
    return server;
  }

  /** Binds the API port (and the extra HTTPS port); resolves with the bound ports. */
  async start(): Promise<{ port: number; httpsPort?: number; apiTls: boolean }> {
    const o = this.options;
    const hasTls = o.sslCertificate !== undefined;
    const apiTls = hasTls && o.httpsPort === undefined;
    const api: Listener = { server: this.makeServer(apiTls), port: o.port, tls: apiTls };
    api.port = await listen(api.server, o.port, o.host);
    this.listeners.push(api);
    let httpsPort: number | undefined;
    if (o.httpsPort !== undefined) {
      const extra: Listener = { server: this.makeServer(true), port: o.httpsPort, tls: true };
      extra.port = httpsPort = await listen(extra.server, o.httpsPort, o.host);
      this.listeners.push(extra);
    }
    return { port: api.port, httpsPort, apiTls };
  }

  get isRefusing(): boolean {
    return this.refused;
  }

  /** Stop listening: new connections are refused, open ones are cut. */
  async refuse(): Promise<void> {
    this.refused = true;
    await Promise.all(this.listeners.map((l) => close(l.server)));
  }

  /** Listen again on the same ports. */
  async accept(): Promise<void> {
    if (!this.refused) return;
    for (const l of this.listeners) if (!l.server.listening) await listen(l.server, l.port, this.options.host);
    this.refused = false;
  }

  async close(): Promise<void> {
    await Promise.all(this.listeners.map((l) => close(l.server)));
  }
}
