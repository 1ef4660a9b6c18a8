// How the command line reaches the running daemon's runtime API: from the daemon's own config,
// over loopback. Plain HTTP when http_port is set; else HTTPS with the config's certificate and
// key as the client certificate (a CN or loopback address runtime_api.allow accepts), trusting
// the daemon's certificate because it is the very one the config names. --url overrides.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { Config } from '../config/types.js';

export interface DaemonEndpoint {
  url: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** SHA-256 fingerprint of the daemon's own certificate, accepted whatever name it carries. */
  pinned?: string;
}

/** The daemon could not be asked: not running, refused, or not allowing us. */
export class DaemonUnreachable extends Error {}

const WILDCARDS = new Set(['*', '::', '0.0.0.0']);

/** A loopback address the daemon listens on, in URL form. */
export function loopbackHost(binds: string[]): string {
  if (binds.some((b) => WILDCARDS.has(b))) return '127.0.0.1';
  const loop = binds.find((b) => b === 'localhost' || b === '::1' || b.startsWith('127.'));
  const host = loop ?? binds[0] ?? '127.0.0.1';
  return isIP(host) === 6 ? `[${host}]` : host;
}

export function endpointFromConfig(cfg: Config): DaemonEndpoint {
  const host = loopbackHost(cfg.bind_host);
  if (cfg.http_port) return { url: `http://${host}:${cfg.http_port}` };
  if (cfg.https_port && cfg.ssl_certificate && cfg.ssl_private_key) {
    return { url: `https://${host}:${cfg.https_port}`, ...tlsFromConfig(cfg) };
  }
  throw new DaemonUnreachable('the config names no fixed listener port to reach the daemon on; give --url');
}

/** Client certificate and trust for talking to the daemon of this config (also with --url). */
export function tlsFromConfig(cfg: Config): Omit<DaemonEndpoint, 'url'> {
  if (!cfg.ssl_certificate || !cfg.ssl_private_key) return {};
  const cert = readFileSync(cfg.ssl_certificate);
  return {
    cert,
    key: readFileSync(cfg.ssl_private_key),
    ca: cfg.ssl_ca_file ? readFileSync(cfg.ssl_ca_file) : undefined,
    pinned: new X509Certificate(cert).fingerprint256,
  };
}

export class RuntimeClient {
  private readonly https: { certificateAuthority?: Buffer; certificate?: Buffer; key?: Buffer; checkServerIdentity: typeof checkServerIdentity };
  /** One keep-alive connection for a command's calls; got's default agent would open one per call. */
  private readonly agents: { http: http.Agent; https: https.Agent };

  /** timeoutMs: how long an answer may take (default 30 min: a drift check over many keys takes a while). */
  constructor(
    readonly endpoint: DaemonEndpoint,
    private readonly timeoutMs = 30 * 60_000,
  ) {
    const { ca, cert, key, pinned } = endpoint;
    this.https = {
      certificateAuthority: ca,
      certificate: cert,
      key,
      // Loopback addresses are not in the daemon's certificate: accept the certificate itself.
      checkServerIdentity: (host: string, peer: PeerCertificate) =>
        pinned !== undefined && peer.fingerprint256 === pinned ? undefined : checkServerIdentity(host, peer),
    };
    this.agents = { http: new http.Agent({ keepAlive: true, maxSockets: 1 }), https: new https.Agent({ keepAlive: true, maxSockets: 1 }) };
  }

  /**
   * GET or POST a runtime API path; the parsed JSON answer on 200. Through got: a command or a
   * cluster-wide operation makes a few calls, so ease matters more than CPU here, and got is
   * loaded only when the first call is made (the daemon's request path never needs it).
   */
  async call(method: 'GET' | 'POST', path: string, form?: Record<string, string>): Promise<unknown> {
    const url = `${this.endpoint.url.replace(/\/$/, '')}/proxy_proxy/${path}`;
    const { got } = await import('got');
    let res;
    try {
      res = await got(url, {
        method,
        headers: { accept: 'application/json' },
        ...(form ? { form } : {}),
        https: this.https,
        agent: this.agents,
        timeout: { connect: Math.min(5_000, this.timeoutMs), response: this.timeoutMs },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
        responseType: 'text',
      });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      throw new DaemonUnreachable(`cannot reach the daemon at ${this.endpoint.url}: ${e.code ?? ''} ${e.message ?? String(err)}`.trim());
    }
    const text = res.body;
    if (res.statusCode !== 200) throw new DaemonUnreachable(`the daemon at ${this.endpoint.url} answered ${res.statusCode}: ${text.slice(0, 300)}`);
    try {
      return JSON.parse(text);
    } catch {
      throw new DaemonUnreachable(`the daemon at ${this.endpoint.url} answered something that is not JSON`);
    }
  }

  async close(): Promise<void> {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }
}
