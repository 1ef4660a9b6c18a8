// proxy-proxy's own connection to Foreman for the host-facing relays (templates, registration),
// as the smart proxy's ForemanRequest: foreman_url, with foreman_ssl_ca/cert/key or else the
// listener's ssl_* files. Transport failures carry Net::HTTP's words, because the relays put
// them into the answers hosts see.
import { readFileSync } from 'node:fs';
import { exchange } from '../backends/exchange.js';
import { LazyPool } from '../backends/undici-dispatchers.js';
import type { Config } from '../config/types.js';

/** Net::HTTP's open timeout is 60 s; a Foreman that does not accept a connection in 10 s is down. */
const CONNECT_TIMEOUT_MS = 10_000;
/** Net::HTTP's read timeout. */
const RESPONSE_TIMEOUT_MS = 60_000;
const READ_TIMEOUT = 'Net::ReadTimeout with #<TCPSocket:(closed)>';
/** A template or registration script is a few KB; this bounds what one answer may hold in memory. */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export interface ForemanRequest {
  method: 'GET' | 'POST';
  /** Resolved against foreman_url as Ruby's URI.join does ('unattended/x' keeps a sub-path, '/register' does not). */
  path: string;
  /** Already escaped, without '?'; '' for none. */
  query: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** The request's deadline: when it fires, the call ends as Net::HTTP's read timeout would. */
  signal?: AbortSignal;
}

export interface ForemanAnswer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** Foreman gave no HTTP answer; `message` is worded as Ruby's Net::HTTP would. */
export class ForemanUnreachable extends Error {}

export interface ForemanTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** foreman_ssl_* where set, else the listener's files (smart-proxy lib/proxy/request.rb). */
export function foremanTls(cfg: Config): ForemanTls {
  return {
    ca: cfg.foreman_ssl_ca ?? cfg.ssl_ca_file,
    // A certificate is only used together with its key, as the smart proxy does.
    cert: cfg.foreman_ssl_cert ?? cfg.ssl_certificate,
    key: cfg.foreman_ssl_key ?? cfg.ssl_private_key,
  };
}

export class ForemanClient {
  readonly url: URL;
  private readonly pool: LazyPool;

  constructor(foremanUrl: string, tls: ForemanTls) {
    this.url = new URL(foremanUrl);
    const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
    const withCert = tls.cert !== undefined && tls.key !== undefined;
    this.pool = new LazyPool(this.url.origin, {
      connections: 64,
      keepAliveTimeout: 4_000,
      headersTimeout: RESPONSE_TIMEOUT_MS,
      bodyTimeout: RESPONSE_TIMEOUT_MS,
      connect: {
        timeout: CONNECT_TIMEOUT_MS,
        // Without a CA file the system CAs verify Foreman (the smart proxy would not verify at all).
        ca: read(tls.ca),
        cert: withCert ? read(tls.cert) : undefined,
        key: withCert ? read(tls.key) : undefined,
        rejectUnauthorized: true,
      },
    });
  }

  /** Host as URI#host names it in the relays' error texts. */
  get host(): string {
    return this.url.hostname;
  }

  async send(req: ForemanRequest): Promise<ForemanAnswer> {
    const target = new URL(req.path, this.url);
    const path = `${target.pathname}${req.query ? `?${req.query}` : ''}`;
    try {
      const res = await exchange(this.pool.get(), { method: req.method, path, headers: req.headers, body: req.body }, { signal: req.signal }, {
        bytes: MAX_ANSWER_BYTES,
        error: () => new ForemanUnreachable(`answer larger than ${MAX_ANSWER_BYTES} bytes`),
      });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      return { status: res.status, headers, body: res.body };
    } catch (err) {
      if (err instanceof ForemanUnreachable) throw err;
      if (req.signal?.aborted) throw new ForemanUnreachable(READ_TIMEOUT);
      throw new ForemanUnreachable(this.rubyWords(err));
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  /** What Net::HTTP would have raised for this failure. */
  private rubyWords(err: unknown): string {
    const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
    const code = e?.code ?? e?.cause?.code ?? '';
    const message = e?.cause?.message ?? e?.message ?? String(err);
    const port = this.url.port || (this.url.protocol === 'https:' ? '443' : '80');
    const where = `${this.url.hostname}:${port}`;
    const open = (why: string) => `Failed to open TCP connection to ${where} (${why})`;
    switch (code) {
      case 'ECONNREFUSED':
        return open(`Connection refused - connect(2) for ${where}`);
      case 'EHOSTUNREACH':
        return open(`No route to host - connect(2) for ${where}`);
      case 'ENETUNREACH':
        return open(`Network is unreachable - connect(2) for ${where}`);
      case 'ENOTFOUND':
        return open('getaddrinfo: Name or service not known');
      case 'EAI_AGAIN':
        return open('getaddrinfo: Temporary failure in name resolution');
      case 'UND_ERR_CONNECT_TIMEOUT':
        return open('execution expired');
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
        return READ_TIMEOUT;
      case 'ECONNRESET':
        return 'Connection reset by peer';
      case 'UND_ERR_SOCKET':
        return 'end of file reached';
      default:
        if (code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || code.includes('CERT')) {
          return `SSL_connect returned=1 errno=0 peeraddr=${where} state=error: ${message}`;
        }
        return message;
    }
  }
}
