// Classifies a failed backend call by what it tells us about the request's fate. Failover may
// move an exactly-once request to another backend only when it surely never arrived.

export type CallFailureKind =
  /** Refused, unresolvable, unreachable, TLS handshake failed: the request was never sent. */
  | 'not_sent'
  /** Connect timed out: never sent either. */
  | 'connect_timeout'
  /** Sent (or maybe sent) and no complete answer in time. */
  | 'response_timeout'
  /** Connection broke after the request may have been written. */
  | 'broken'
  /**
   * Stopped waiting: the backend was marked down (health check or passive ejection) while the
   * request was in flight, or the request's deadline came. Maybe sent, maybe applied.
   */
  | 'released';

export class BackendCallError extends Error {
  constructor(
    readonly backend: string,
    readonly kind: CallFailureKind,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackendCallError';
  }

  /** True when the backend surely did not receive the request. */
  get surelyNotSent(): boolean {
    return this.kind === 'not_sent' || this.kind === 'connect_timeout';
  }
}

const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_INVALID_ARG',
]);

/** The backend was marked down while the call was in flight: the caller stops waiting at once. */
export function backendDownError(backend: string, why: string): BackendCallError {
  return new BackendCallError(backend, 'released', 'BACKEND_DOWN', `${backend} was marked down while the request was in flight (${why})`);
}

/** The request's deadline came while the call was in flight. */
export function deadlineError(backend: string, ms: number): BackendCallError {
  return new BackendCallError(backend, 'released', 'DEADLINE', `${backend} had not answered when the request's deadline (${ms} ms) came`);
}

/** Reason of a request's deadline signal; turned into deadlineError() for the backend it stopped. */
export class DeadlineReached extends Error {
  constructor(readonly ms: number) {
    super(`request deadline of ${ms} ms reached`);
    this.name = 'DeadlineReached';
  }
}

/** Turn whatever undici threw into a BackendCallError. */
export function classifyCallError(backend: string, err: unknown): BackendCallError {
  if (err instanceof BackendCallError) return err;
  if (err instanceof DeadlineReached) return deadlineError(backend, err.ms);
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code ?? 'UNKNOWN';
  const message = e?.cause?.message ?? e?.message ?? String(err);
  let kind: CallFailureKind;
  if (NOT_SENT_CODES.has(code)) kind = 'not_sent';
  else if (code === 'UND_ERR_CONNECT_TIMEOUT') kind = 'connect_timeout';
  else if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') kind = 'response_timeout';
  else if (isTlsHandshakeError(code)) kind = 'not_sent';
  else kind = 'broken';
  return new BackendCallError(backend, kind, code, message);
}

// Certificate and handshake failures happen before any request byte is written.
function isTlsHandshakeError(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT'
  );
}
