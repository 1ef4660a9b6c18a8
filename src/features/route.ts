// What a feature file declares about each smart-proxy route. Feature files are data plus small
// pure functions; they know nothing about sockets, backends or policies.
import type { IncomingHttpHeaders } from 'node:http';
import type { ForemanClient } from '../relay/foreman-client.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** A request as the policy engine and feature functions see it. */
export interface IncomingCall {
  /** Effective method: HEAD is reported as GET, `_method=DELETE` form overrides are applied. */
  method: HttpMethod;
  /** Path as it will be forwarded: `//` collapsed, query removed, percent-encoding as received. */
  path: string;
  /** Raw query string without '?', '' when none. */
  rawQuery: string;
  query: URLSearchParams;
  /** Named path parameters, percent-decoded. A `*name` splat captures the rest of the path. */
  params: Record<string, string>;
  /** Form fields when the body is application/x-www-form-urlencoded (the only kind SP reads). */
  form: URLSearchParams;
  body: Buffer;
  headers: IncomingHttpHeaders;
  /** A HEAD request (method says GET): an answer without its body. */
  head?: boolean;
  /** The request's id (X-Request-Id as received, or one made up for it). */
  requestId?: string;
  /** Who sent it; absent in calls built by hand (tests, replays). */
  client?: CallerIdentity;
}

/** The caller as the listener saw it: the client certificate's CN on HTTPS, the peer address. */
export interface CallerIdentity {
  https: boolean;
  /** CN of a verified client certificate, null without one. */
  certCn: string | null;
  hasCert: boolean;
  remoteAddress: string;
}

/** A request the daemon itself sends to a backend (snapshot reads, restores, confirmations). */
export interface BackendCall {
  method: HttpMethod;
  path: string;
  /** Raw query string without '?'. */
  query?: string;
  /** Sent as application/x-www-form-urlencoded. */
  form?: URLSearchParams;
}

export interface BackendAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** A write's effect on the desired-state ledger of a replicated feature. */
export interface LedgerChange {
  /** Object key, stable across spellings (lower-case MAC, lower-case variant…). */
  key: string;
  op: 'put' | 'delete';
  /** The request that brings a backend to this state; the client's own request when absent. */
  request?: BackendCall;
}

/** Rejection answered by the daemon in smart-proxy style; the request reaches no backend. */
export interface Rejection {
  status: number;
  message: string;
}

/** An answer the daemon composes itself (settings overrides, its own /logs, relays to Foreman). */
export interface LocalAnswer {
  status: number;
  /**
   * 'json' → application/json; 'html' → text/html;charset=utf-8 with SP's extra headers;
   * 'error' → a plain-text error labelled by the client's Accept, as every SP error.
   */
  contentType: 'json' | 'html' | 'error';
  body: string | Buffer;
  /** What went wrong, for the administrator: logged as a warning. */
  problem?: string;
}

/** What a local handler may consult. */
export interface LocalContext {
  /** Effective `settings` overrides of this feature from the config. */
  settings: Record<string, string | number | boolean | null>;
  logs: { query(fromTimestamp: number | undefined): unknown };
  /** The client as its connection shows it: the identity a smart proxy would see. */
  client: {
    /** Socket peer address (REMOTE_ADDR), IPv4 without the IPv6-mapped prefix. */
    address: string;
    scheme: 'http' | 'https';
    /** host:port of the listener the request arrived on. */
    serverName: string;
  };
  /** proxy-proxy's own connection to Foreman (foreman_url); undefined when none is configured. */
  foreman: ForemanClient | undefined;
  /** Aborted once request_deadline_ms has passed since the request arrived. */
  deadline?: AbortSignal;
}

/** What an in-process service answers (the REX spool, dynflow forwarding, OpenSCAP reports). */
export interface ServiceAnswer {
  status: number;
  /** 'json' → application/json; 'html' → text/html;charset=utf-8; 'text' → text/plain;charset=utf-8. */
  contentType: 'json' | 'html' | 'text';
  body: string;
  extraHeaders?: Record<string, string>;
  /** Bytes sent as they are (a stored bzip2 report), with this Content-Type instead of `contentType`. */
  raw?: { contentType: string; body: Buffer };
}

/**
 * The code behind a module's `service` routes, registered by the daemon under the module's
 * name. Route tables stay data; the service gets the route that matched and the call.
 */
export interface ModuleService {
  /** Largest request body for this route when it is not max_body_bytes (launches carry scripts). */
  bodyLimit?(route: RouteSpec): number | undefined;
  /** How this module answers a body over that limit (default: a smart-proxy error, plain text). */
  tooLarge?(route: RouteSpec, message: string): ServiceAnswer;
  /** The answer; undefined leaves the request to the module's backends (or a 404 without any). */
  serve(route: RouteSpec, call: IncomingCall): Promise<ServiceAnswer | undefined>;
}

export type AuthKind =
  /** trusted_hosts + client certificate on HTTPS (dhcp, dns, tftp, …, /v2/features) */
  | 'trusted'
  /** no checks at all (/features, /version, templates, registration, httpboot) */
  | 'none'
  /** a verified client certificate on HTTPS, any CN (SP `authorize_with_ssl_client`: openscap host paths) */
  | 'client-certificate';

export interface RouteSpec {
  /** Stable id used in logs and metrics, e.g. 'tftp.create'. */
  name: string;
  method: HttpMethod;
  /**
   * Path pattern. `:name` matches one segment, `*name` the rest (may contain '/'),
   * a trailing `/?` makes a final slash optional (only where the smart proxy accepts one).
   */
  pattern: string;
  kind: 'read' | 'write';
  /**
   * May this request be sent to another backend after it may already have reached one
   * (5xx answer or response timeout)? True for reads and idempotent writes.
   */
  retrySafe: boolean;
  /** Must never reach two backends: BMC power, realm create, registration, puppetca sign. */
  exactlyOnce?: boolean;
  /** Overrides the module's auth for this route. */
  auth?: AuthKind;
  /** Bad input is rejected here with SP's status and message, before any backend sees it. */
  validate?(call: IncomingCall): Rejection | undefined;
  /** The read that captures a backend's current value for this write's key. */
  snapshot?(call: IncomingCall): BackendCall;
  /**
   * Requests that put the snapshot back on a backend after this write succeeded there.
   * Re-creates what was there and deletes only what the write created. An empty list means
   * the backend already holds the snapshot's state.
   */
  restore?(call: IncomingCall, snapshot: BackendAnswer): BackendCall[];
  /**
   * Replicated features: the desired-state keys this write sets or deletes, so that a backend
   * that missed it (down, rebuilt, newly added) can be brought up to date. `snapshot` is the
   * first target's snapshot, for writes whose keys depend on what was there (DHCP delete by IP).
   */
  ledger?(call: IncomingCall, snapshot: BackendAnswer | undefined): LedgerChange[];
  /** For writes without restore: why no undo exists (logged when a rollback cannot happen). */
  noInverse?: string;
  /**
   * Under `replicate`, a read whose answer must hold on every backend (DHCP unused_ip): given
   * the first backend's answer, the read to run on each other backend, and how to judge it.
   */
  confirm?: {
    check(call: IncomingCall, first: BackendAnswer): BackendCall | undefined;
    accepts(answer: BackendAnswer): boolean;
  };
  /**
   * Answer without a backend. Return undefined to fall through to the backends (e.g. a
   * settings override that is not configured).
   */
  local?(call: IncomingCall, ctx: LocalContext): LocalAnswer | undefined | Promise<LocalAnswer | undefined>;
  /** Answered by the module's registered ModuleService (in-process state such as a job spool). */
  service?: boolean;
  /**
   * The smart proxy names the host by this request's TLS client certificate (its CN). TLS ends
   * at proxy-proxy, so a backend would see proxy-proxy's certificate and act for the wrong host:
   * the route is answered by proxy-proxy itself (local or service) or not at all, never
   * forwarded (docs/host-identity.md).
   */
  hostIdentity?: 'client-certificate';
}
