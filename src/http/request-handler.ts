// One request, start to end: path and body, root documents, route, authorization, validation,
// local answers, then the feature's policy over its backends; one log line at the end.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { HttpMethod, LocalAnswer, ModuleService } from '../features/route.js';
import { incomingCall, isFormBody } from '../features/incoming-call.js';
import type { Runtime } from '../runtime.js';
import type { Convergence } from '../converge/convergence.js';
import { isRuntimeApiPath, type ApiAnswer } from '../ops/runtime-api.js';
import { dispatch } from '../fanout/dispatch.js';
import type { Attempt, PolicyOutcome } from '../fanout/outcome.js';
import { forwardHeaders, passThrough, responseHeaders } from '../fanout/outgoing.js';
import type { Logger } from '../ops/logger.js';
import type { LogBuffer } from '../ops/log-buffer.js';
import { reportedVersion, runningFeatures, v2Features, versionDocument } from '../root/advertise.js';
import { peerIdentity, type Scheme } from './listeners.js';
import { errorAnswer, HTML_TYPE, JSON_TYPE, notFoundAnswer, writeNative, type NativeAnswer } from './native-answer.js';
import { BodyTooLarge, carriesBody, readBody } from './request-body.js';
import { DeadlineSignals } from './deadline-signals.js';
import { parseRequestTarget } from './request-target.js';
import { ConnectionTrust, plainAddress, type ClientIdentity, type NameResolver } from './trusted-hosts.js';

const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'DELETE']);

interface Served {
  status: number;
  feature?: string;
  route?: string;
  policy?: string;
  attempts?: Attempt[];
  note?: string;
}

export class RequestHandler {
  private active = 0;
  private readonly closed = () => {
    this.active -= 1;
  };
  private readonly trust: ConnectionTrust;
  private readonly deadlines = new DeadlineSignals();
  /** Sees every answered request (metrics, recent traffic). */
  observer: ((record: { status: number; feature?: string; route?: string; policy?: string; attempts?: Attempt[] }, ms: number) => void) | undefined;
  /** The runtime operations API (/proxy_proxy/…), answered before any smart-proxy route. */
  ops: ((method: string, path: string, client: ClientIdentity, rawQuery: string, body: Buffer) => Promise<ApiAnswer>) | undefined;
  /** In-process services behind `service` routes, by module name (REX spool, dynflow, openscap). */
  readonly services = new Map<string, ModuleService>();

  constructor(
    private readonly runtime: () => Runtime,
    private readonly logger: Logger,
    private readonly logs: LogBuffer,
    resolver: NameResolver,
    private readonly converge: Convergence,
  ) {
    this.trust = new ConnectionTrust(resolver);
  }

  get inFlight(): number {
    return this.active;
  }

  readonly listener = (req: IncomingMessage, res: ServerResponse, scheme: Scheme): void => {
    this.active += 1;
    // 'close' comes once per response.
    res.on('close', this.closed);
    void this.handle(req, res, scheme);
  };

  private async handle(req: IncomingMessage, res: ServerResponse, scheme: Scheme): Promise<void> {
    const started = performance.now();
    const requestId = headerValue(req, 'x-request-id') ?? randomUUID();
    let served: Served;
    try {
      served = await this.serve(req, res, scheme, requestId, started);
    } catch (err) {
      this.logger.error(`unexpected failure serving ${req.method} ${req.url}: ${(err as Error).stack ?? String(err)}`, { request_id: requestId });
      if (!res.headersSent) {
        const rt = this.runtime();
        writeNative(res, errorAnswer(req.headers, 500, (err as Error).message), `foreman-proxy/${reportedVersion(rt.config, rt.catalog)}`, false);
      } else res.destroy();
      return;
    }
    this.logLine(req, requestId, served, started);
  }

  private async serve(req: IncomingMessage, res: ServerResponse, scheme: Scheme, requestId: string, started: number): Promise<Served> {
    const rt = this.runtime();
    const cfg = rt.config;
    const headOnly = req.method === 'HEAD';
    let method = headOnly ? 'GET' : (req.method ?? 'GET');
    const { path, rawQuery } = parseRequestTarget(req.url ?? '/');
    const identity = clientIdentity(req, scheme);
    const answer = (a: NativeAnswer, extra: Partial<Served> = {}): Served => {
      writeNative(res, a, serverHeader(rt), headOnly);
      return { status: a.status, ...extra };
    };

    let body: Buffer;
    try {
      // Only a request with a body needs its route's limit before reading.
      body = await readBody(req, carriesBody(req) ? (this.bodyLimit(rt, method, path) ?? cfg.max_body_bytes) : cfg.max_body_bytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close');
        return answer(this.tooLarge(rt, method, path, err.message) ?? errorAnswer(req.headers, 413, err.message));
      }
      throw err;
    }

    if (this.ops && isRuntimeApiPath(path)) {
      const a = await this.ops(method, path, identity, rawQuery, body);
      if (a.notFound) return answer(notFoundAnswer(), { note: 'runtime api refused' });
      if (a.text) {
        res.writeHead(a.status, { 'Content-Type': a.text.contentType, 'Content-Length': Buffer.byteLength(a.text.body), 'Cache-Control': 'no-store' });
        res.end(headOnly ? undefined : a.text.body);
        return { status: a.status, note: 'runtime api' };
      }
      if (a.json === undefined) return answer(errorAnswer(req.headers, a.status, a.message ?? ''), { note: 'runtime api' });
      return answer({ status: a.status, contentType: 'json', body: JSON.stringify(a.json) }, { note: 'runtime api' });
    }

    if (method === 'GET' && (path === '/features' || path === '/version' || path === '/v2/features')) {
      if (path === '/v2/features') {
        const refusal = await this.trust.check(cfg, identity, '/features', req.socket);
        if (refusal) return answer(errorAnswer(req.headers, 403, refusal));
      }
      const doc =
        path === '/features' ? runningFeatures(cfg, rt.catalog) : path === '/version' ? versionDocument(cfg, rt.catalog) : v2Features(cfg, rt.catalog);
      return answer({ status: 200, contentType: 'json', body: JSON.stringify(doc) });
    }

    const form = isFormBody(req.headers) ? new URLSearchParams(body.toString('utf8')) : new URLSearchParams();
    // Rack::MethodOverride: a form POST with _method=DELETE is a DELETE.
    const override = method === 'POST' ? form.get('_method')?.toUpperCase() : undefined;
    if (override) method = override;
    if (!METHODS.has(method)) return answer(notFoundAnswer());

    const match = rt.router.match(method as HttpMethod, path);
    const featureCfg = match ? cfg.features[match.module.name] : undefined;
    if (!match || !featureCfg || !(featureCfg.enabled === true || featureCfg.enabled === scheme)) {
      return answer(notFoundAnswer());
    }
    const { module, route } = match;
    const traits: Partial<Served> = { feature: module.name, route: route.name, policy: module.localOnly ? 'local' : featureCfg.policy };

    const auth = route.auth ?? module.auth;
    if (auth === 'trusted') {
      // Decided without waiting when the connection's caller is known already.
      const check = this.trust.check(cfg, identity, match.pathInModule, req.socket);
      const refusal = typeof check === 'object' ? await check : check;
      if (refusal) return answer(errorAnswer(req.headers, 403, refusal), { ...traits, note: 'refused' });
    } else if (auth === 'client-certificate' && identity.https && !identity.hasCert) {
      // A backend would accept proxy-proxy's own certificate in the host's place.
      return answer(errorAnswer(req.headers, 403, 'No client SSL certificate supplied'), { ...traits, note: 'refused' });
    }

    const call = incomingCall({
      method: method as HttpMethod,
      path,
      rawQuery,
      params: match.params,
      form,
      body,
      headers: req.headers,
      head: headOnly,
      client: identity,
      requestId,
    });
    const rejection = route.validate?.(call);
    if (rejection) return answer(errorAnswer(req.headers, rejection.status, rejection.message), { ...traits, note: 'invalid' });

    const local = await route.local?.(call, {
      settings: featureCfg.settings,
      logs: this.logs,
      client: { address: plainAddress(identity.remoteAddress), scheme, serverName: serverName(req) },
      foreman: rt.foreman,
      deadline: AbortSignal.timeout(Math.max(0, Math.floor(cfg.request_deadline_ms - (performance.now() - started)))),
    });
    if (local) {
      if (local.problem) this.logger.warn(`${route.name}: ${local.problem}`, { request_id: requestId, feature: module.name });
      return answer(fromLocal(req, local), traits);
    }
    if (route.service) {
      const a = await this.services.get(module.name)?.serve(route, call);
      if (a) return answer(a, { ...traits, policy: 'local' });
      if (featureCfg.backends.length === 0) return answer(notFoundAnswer(), traits);
    }
    if (route.hostIdentity) {
      this.logger.warn(`${route.name}: not forwarded, a backend would take proxy-proxy's certificate for the host's`, { request_id: requestId, feature: module.name });
      return answer(notFoundAnswer(), { ...traits, note: 'host identity: not forwarded' });
    }
    if (module.localOnly) return answer(notFoundAnswer(), traits);

    const feature = rt.features.get(module.name)!;
    const outcome = await dispatch({
      call,
      route,
      feature,
      requestId,
      outgoing: passThrough(call, forwardHeaders(call, requestId, plainAddress(identity.remoteAddress)), override !== undefined),
      attempts: [],
      converge: this.converge,
      // Foreman gives up after its proxy_request_timeout: whatever is still pending at the
      // deadline is settled (as a timeout) so that it gets an answer first.
      deadline: this.deadlines.signal(started, cfg.request_deadline_ms),
      snapshotTimeoutMs: cfg.snapshot_timeout_ms,
    });
    if (outcome.warning) this.logger.error(`${route.name}: ${outcome.warning}`, { request_id: requestId, feature: module.name });
    if (outcome.notice) this.logger.warn(`${route.name}: ${outcome.notice}`, { request_id: requestId, feature: module.name });
    traits.status = this.writeOutcome(res, req, outcome, rt, headOnly);
    traits.attempts = outcome.attempts;
    return traits as Served;
  }

  /** A service route's own body limit (dynflow launches carry scripts), found before reading. */
  private bodyLimit(rt: Runtime, method: string, path: string): number | undefined {
    const found = this.serviceRoute(rt, method, path);
    return found?.service.bodyLimit?.(found.route);
  }

  /** A module's own answer to a body over its limit (dynflow answers JSON), if it has one. */
  private tooLarge(rt: Runtime, method: string, path: string, message: string): NativeAnswer | undefined {
    const found = this.serviceRoute(rt, method, path);
    return found?.service.tooLarge?.(found.route, message);
  }

  private serviceRoute(rt: Runtime, method: string, path: string) {
    if (!METHODS.has(method)) return undefined;
    const match = rt.router.match(method as HttpMethod, path);
    if (!match?.route.service) return undefined;
    const service = this.services.get(match.module.name);
    return service && { service, route: match.route };
  }

  /** Writes the policy's answer; returns its status. */
  private writeOutcome(res: ServerResponse, req: IncomingMessage, outcome: PolicyOutcome, rt: Runtime, headOnly: boolean): number {
    const a = outcome.answer;
    if (a.kind === 'error') {
      writeNative(res, errorAnswer(req.headers, a.status, a.message), serverHeader(rt), headOnly);
      return a.status;
    }
    res.writeHead(a.answer.status, responseHeaders(a.answer.headers, a.answer.body.length));
    res.end(headOnly ? undefined : a.answer.body);
    return a.answer.status;
  }

  private logLine(req: IncomingMessage, requestId: string, served: Served, started: number): void {
    const ms = Math.round((performance.now() - started) * 100) / 100;
    this.observer?.(served, ms);
    // Below log_level (WARN, ERROR) neither the line nor its fields are built.
    if (!this.logger.isLevelEnabled('info')) return;
    let tried = '';
    for (const a of served.attempts ?? []) tried += `${tried ? ' ' : ''}${a.backend}:${a.phase === 'send' ? '' : `${a.phase}:`}${a.outcome}:${a.ms}ms`;
    const where = served.feature ? ` ${served.feature}/${served.policy}` : '';
    const msg = `${req.method} ${req.url} ${served.status} ${ms}ms${where}${tried ? ` [${tried}]` : ''}`;
    this.logger.request(msg, {
      request_id: requestId,
      session_id: headerValue(req, 'x-session-id'),
      method: req.method,
      path: req.url,
      status: served.status,
      ms,
      feature: served.feature,
      route: served.route,
      policy: served.policy,
      // A copy: the line is made a few ms later, and a late send may still add an attempt.
      backends: served.attempts?.slice(),
    });
  }
}

/** `Server:` of the answers proxy-proxy writes itself: the version a backend reported. */
function serverHeader(rt: Runtime): string {
  return `foreman-proxy/${reportedVersion(rt.config, rt.catalog)}`;
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Per TLS connection: decoding the peer certificate on every keep-alive request is costly. */
const peers = new WeakMap<TLSSocket, { hasCert: boolean; certCn: string | null }>();

function clientIdentity(req: IncomingMessage, scheme: Scheme): ClientIdentity {
  const remoteAddress = req.socket.remoteAddress ?? '';
  if (scheme === 'http') return { https: false, certCn: null, hasCert: false, remoteAddress };
  const socket = req.socket as TLSSocket;
  let peer = peers.get(socket);
  if (!peer) {
    peer = peerIdentity(socket);
    peers.set(socket, peer);
  }
  return { https: true, ...peer, remoteAddress };
}

function fromLocal(req: IncomingMessage, a: LocalAnswer): NativeAnswer {
  if (a.contentType === 'error') return errorAnswer(req.headers, a.status, a.body.toString());
  if (typeof a.body === 'string') return { status: a.status, contentType: a.contentType, body: a.body };
  // Bytes relayed from Foreman reach the host exactly as Foreman sent them.
  return { status: a.status, contentType: a.contentType, body: '', raw: { contentType: a.contentType === 'html' ? HTML_TYPE : JSON_TYPE, body: a.body } };
}

/** host:port the request arrived at, as WEBrick names its server when a request has no Host. */
function serverName(req: IncomingMessage): string {
  const address = req.socket.localAddress ?? '';
  return `${address.includes(':') && !address.startsWith('::ffff:') ? `[${address}]` : plainAddress(address)}:${req.socket.localPort ?? ''}`;
}
