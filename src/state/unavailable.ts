// The state database cannot be reached (down, restarting, not reachable yet at start): nothing
// can be recorded, so what needs recording is refused (503) and the rest carries on. One
// classification for every user of the state, whatever the driver: the embedded SQLite file is
// never "unavailable", its errors are real ones.

/** The state database is not usable now; the message says why ("state database unavailable: …"). */
export class StateUnavailableError extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(`state database unavailable: ${reason}`);
    this.name = 'StateUnavailableError';
    this.reason = reason;
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EPIPE']);
/** admin_shutdown, crash_shutdown, cannot_connect_now (starting up), too_many_connections. */
const SERVER_CODES = new Set(['57P01', '57P02', '57P03', '53300']);

/** The server is gone, refuses connections or is starting (not a bad statement): worth waiting out. */
export function isStateUnavailable(err: unknown): boolean {
  if (err instanceof StateUnavailableError) return true;
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  if (code && (NETWORK_CODES.has(code) || code.startsWith('08') || SERVER_CODES.has(code))) return true;
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/i.test(message ?? '');
}

/** Why, in a few words, for the 503 text and the logs. */
export function unavailableReason(err: unknown): string {
  if (err instanceof StateUnavailableError) return err.reason;
  const { code, message } = (err ?? {}) as { code?: string; message?: string };
  return message || code || String(err);
}

/** "state database unavailable: <why>" for an unavailable database, or undefined for another error. */
export function describeUnavailable(err: unknown): string | undefined {
  if (err instanceof StateUnavailableError) return err.message;
  return isStateUnavailable(err) ? `state database unavailable: ${unavailableReason(err)}` : undefined;
}
