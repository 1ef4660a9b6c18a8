// One smart proxy behind proxy-proxy: a keep-alive undici pool (mTLS when configured), its
// health, and the one method the policies use to talk to it.
import { readFileSync } from 'node:fs';
import { LazyPool } from './undici-dispatchers.js';
import type { IncomingHttpHeaders } from 'node:http';
import type { BackendConfig, HealthCheckConfig, PassiveEjectionConfig } from '../config/types.js';
import type { BackendAnswer, HttpMethod } from '../features/route.js';
import { backendDownError, classifyCallError } from './call-error.js';
import { exchange } from './exchange.js';
import { HealthState, type BackendState } from './health-state.js';

export interface OutgoingRequest {
  method: HttpMethod;
  /** Path plus optional '?query', exactly as it should reach the backend. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer | string;
}

/** Per call: bounds beyond the pool's own connect and response timeouts. */
export interface SendOptions {
  /** Stops the call (the request's deadline); its reason is what the call rejects with. */
  signal?: AbortSignal;
  /** A shorter response timeout for this call (snapshot reads), ms. */
  timeoutMs?: number;
}

export type StateListener = (backend: string, from: BackendState, to: BackendState, why: string) => void;

export interface TlsMaterial {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

export function readTlsMaterial(cfg: BackendConfig): TlsMaterial {
  return {
    ca: cfg.ssl_ca_file ? readFileSync(cfg.ssl_ca_file) : undefined,
    cert: cfg.ssl_certificate ? readFileSync(cfg.ssl_certificate) : undefined,
    key: cfg.ssl_private_key ? readFileSync(cfg.ssl_private_key) : undefined,
  };
}

export class Backend {
  readonly name: string;
  readonly origin: string;
  readonly health: HealthState;
  readonly tls: TlsMaterial;
  /** undici's pool, made at the first call (undici-dispatchers.ts). */
  private readonly pool: LazyPool;
  /**
   * Aborted when the backend is marked down (failed checks or passive ejection), then replaced:
   * every call in flight at that moment stops waiting at once; later calls get the new one.
   */
  private downSignal = new AbortController();
  /** Replaced when a reloaded runtime takes this backend over. */
  onStateChange: StateListener;

  constructor(
    readonly config: BackendConfig,
    checks: HealthCheckConfig,
    ejection: PassiveEjectionConfig,
    onStateChange: StateListener,
  ) {
    this.name = config.name;
    this.origin = new URL(config.url).origin;
    this.tls = readTlsMaterial(config);
    this.onStateChange = onStateChange;
    this.health = new HealthState(checks, ejection, Date.now, (from, to, why) => {
      if (!this.health.healthy) this.releaseInFlight(why);
      this.onStateChange(this.name, from, to, why);
    });
    this.pool = new LazyPool(this.origin, {
      connections: 128,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      headersTimeout: config.response_timeout_ms,
      bodyTimeout: config.response_timeout_ms,
      connect: {
        timeout: config.connect_timeout_ms,
        ca: this.tls.ca,
        cert: this.tls.cert,
        key: this.tls.key,
        // Identity is checked against the URL's host name, as any TLS client would.
        rejectUnauthorized: true,
      },
    });
  }

  get state(): BackendState {
    return this.health.state;
  }

  /**
   * Send one request and read the whole answer. Throws BackendCallError on transport failure;
   * any HTTP status is an answer. Live outcomes feed passive ejection.
   */
  async send(req: OutgoingRequest, opts: SendOptions = {}): Promise<BackendAnswer> {
    try {
      const res = await exchange(
        this.pool.get(),
        opts.timeoutMs === undefined
          ? { method: req.method, path: req.path, headers: req.headers, body: req.body }
          : { method: req.method, path: req.path, headers: req.headers, body: req.body, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs },
        { signal: opts.signal, downSignal: this.downSignal.signal },
      );
      const answer: BackendAnswer = { status: res.status, headers: flattenHeaders(res.headers), body: res.body };
      if (res.status >= 500 && res.status !== 501) this.health.recordLiveFailure(`HTTP ${res.status}`);
      else this.health.recordLiveSuccess();
      return answer;
    } catch (err) {
      const failure = classifyCallError(this.name, err);
      // Released by a down mark or a deadline: not the backend's fault of the moment.
      if (failure.kind !== 'released') this.health.recordLiveFailure(failure.code);
      throw failure;
    }
  }

  /** Marked down: calls in flight stop waiting now (a read moves on, a write may have applied). */
  private releaseInFlight(why: string): void {
    const current = this.downSignal;
    this.downSignal = new AbortController();
    current.abort(backendDownError(this.name, why));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  destroy(): Promise<void> {
    return this.pool.destroy();
  }
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v === undefined) continue;
    out[k] = typeof v === 'string' ? v : v.join(', ');
  }
  return out;
}
