// The runtime operations API under /proxy_proxy/ (a prefix no smart-proxy module uses): status,
// drain / maintenance / enable of a backend, and the drift check (POST drift, repair=1, prune=1).
// Backend states set here are operational only and never persisted: after a restart or reload
// the config file is the truth again (HAProxy's rule).
import { BlockList, isIP } from 'node:net';
import type { Config } from '../config/types.js';
import type { Convergence } from '../converge/convergence.js';
import type { DriftScheduler } from '../converge/drift/drift-schedule.js';
import type { RexService } from '../rex/rex-service.js';
import type { Runtime } from '../runtime.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import type { TrafficWindow } from './traffic-window.js';
import type { OperationalState } from '../backends/health-state.js';
import { plainAddress, type ClientIdentity } from '../http/trusted-hosts.js';
import { renderMain, renderStatusPage } from './status-page.js';
import type { StatusHistory } from './status-history.js';
import { answeredLocally } from '../features/index.js';
import { applyOnPeers, type ClusterDirectory, type ClusterMembership, type InstanceOutcome } from './cluster-ops.js';
import type { Leadership } from '../state/leadership.js';

/**
 * What the runtime API reads and acts on: the daemon, seen only through what it needs (so that
 * this file does not import the daemon that imports it).
 */
export interface RuntimeApiHost {
  readonly config: Config;
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly listeners: ReadonlyArray<{ scheme: string; host: string; port: number }>;
  readonly metrics: Pick<Metrics, 'render'>;
  readonly drift: Pick<DriftScheduler, 'run'>;
  readonly converge: Pick<Convergence, 'isLagging' | 'status' | 'resync'>;
  readonly traffic: Pick<TrafficWindow, 'summary'>;
  readonly history: Pick<StatusHistory, 'view'>;
  readonly cluster: ClusterMembership | undefined;
  readonly leadership: Pick<Leadership, 'leaderId'> | undefined;
  readonly runtimeUrl: string | null;
  readonly rex: RexService | undefined;
}

export const RUNTIME_API_PREFIX = '/proxy_proxy/';
/** Prometheus' conventional path; behind the same allow-list as the runtime API. */
export const METRICS_PATH = '/metrics';

/** Paths the runtime API answers (before any smart-proxy route). */
export function isRuntimeApiPath(path: string): boolean {
  return path.startsWith(RUNTIME_API_PREFIX) || path === METRICS_PATH;
}

export interface ApiAnswer {
  status: number;
  /** Answer exactly as the smart proxy's unknown-route 404. */
  notFound?: boolean;
  /** JSON document, or a plain-text message for errors (smart-proxy style). */
  json?: unknown;
  message?: string;
  /** A non-JSON document (the status page, Prometheus text). */
  text?: { contentType: string; body: string };
}

const ACTIONS: Record<string, OperationalState> = { drain: 'drained', maintenance: 'maintenance', enable: 'active' };

/** Address/CIDR entries match the client address; other entries match a client-cert CN. */
export class RuntimeApiAllowList {
  private readonly blocks = new BlockList();
  private readonly names = new Set<string>();

  constructor(entries: string[]) {
    for (const e of entries) {
      const [addr, prefix] = e.split('/');
      const family = isIP(addr!);
      if (family === 0) this.names.add(e.toLowerCase());
      else if (prefix !== undefined) this.blocks.addSubnet(addr!, Number(prefix), family === 6 ? 'ipv6' : 'ipv4');
      else this.blocks.addAddress(addr!, family === 6 ? 'ipv6' : 'ipv4');
    }
  }

  allows(client: ClientIdentity): boolean {
    if (client.certCn && this.names.has(client.certCn.toLowerCase())) return true;
    const ip = plainAddress(client.remoteAddress);
    const family = isIP(ip);
    return family !== 0 && this.blocks.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }
}

export async function runtimeApi(
  daemon: RuntimeApiHost,
  method: string,
  path: string,
  client: ClientIdentity,
  rawQuery = '',
  body: Buffer = Buffer.alloc(0),
): Promise<ApiAnswer> {
  const allow = new RuntimeApiAllowList(daemon.config.runtime_api.allow);
  if (!allow.allows(client)) {
    // Whoever may not use the API (Foreman included) sees what a smart proxy shows for an
    // unknown path; the refusal is logged for the administrator.
    daemon.logger.warn(`runtime API: ${client.certCn ?? plainAddress(client.remoteAddress)} is not in runtime_api.allow (${method} ${path})`);
    return { status: 404, message: 'Requested url was not found', notFound: true };
  }
  if (path === METRICS_PATH) {
    if (method !== 'GET') return { status: 404, message: 'Requested url was not found', notFound: true };
    return { status: 200, text: await daemon.metrics.render() };
  }
  const rest = path.slice(RUNTIME_API_PREFIX.length).replace(/\/$/, '');
  if (method === 'GET' && rest === '') return statusPage(daemon, rawQuery);
  if (method === 'GET' && rest === 'status') return { status: 200, json: await statusDocument(daemon) };
  if (method === 'GET' && rest === 'history') return { status: 200, json: daemon.history.view() };
  if (method === 'POST' && rest === 'drift') {
    const flags = driftFlags(rawQuery, body);
    return { status: 200, json: await daemon.drift.run({ repair: flags.has('repair'), prune: flags.has('prune') }, 'runtime API') };
  }
  const rs = /^backends\/([^/]+)\/resync$/.exec(rest);
  if (rs && method === 'POST') return resync(daemon, decodeURIComponent(rs[1]!), rawQuery, body);
  const m = /^backends\/([^/]+)\/(drain|maintenance|enable)$/.exec(rest);
  if (m && method === 'POST') {
    const name = decodeURIComponent(m[1]!);
    const backend = daemon.runtime.backends.get(name);
    if (!backend) return { status: 404, message: `Unknown backend ${name}` };
    const next = ACTIONS[m[2]!]!;
    backend.health.setOperational(next, `runtime API: ${m[2]}`);
    if (next === 'active') backend.health.clearEjection();
    const json: Record<string, unknown> = {
      backend: name,
      state: backend.health.state,
      note: 'operational state only: not persisted, the config file stays the truth',
    };
    // In a cluster the operation goes to every live instance, unless it was forwarded here.
    const cluster = daemon.cluster;
    if (cluster && !new URLSearchParams(rawQuery).has('scope')) {
      const self: InstanceOutcome = { instance: cluster.selfId, runtime_url: daemon.runtimeUrl, outcome: 'applied', state: backend.health.state };
      const peers = await applyOnPeers(cluster, daemon.config, rest);
      for (const p of peers.filter((x) => x.outcome === 'failed')) daemon.logger.warn(`runtime API: ${m[2]} ${name} not applied on instance ${p.instance}: ${p.detail}`);
      json.instances = [self, ...peers];
      json.applied_everywhere = peers.every((p) => p.outcome === 'applied');
    }
    return { status: 200, json };
  }
  return { status: 404, message: 'Requested url was not found' };
}

/**
 * Push the whole ledger of the backend's replicated features (or of `feature`) to it again:
 * its backlog becomes the whole ledger, replayed by catch-up; it serves no reads meanwhile.
 */
async function resync(daemon: RuntimeApiHost, name: string, rawQuery: string, body: Buffer): Promise<ApiAnswer> {
  const backend = daemon.runtime.backends.get(name);
  if (!backend) return { status: 404, message: `Unknown backend ${name}` };
  const params = new URLSearchParams(rawQuery);
  for (const [k, v] of new URLSearchParams(body.toString('utf8'))) params.set(k, v);
  const only = params.get('feature') || undefined;
  const features = [...daemon.runtime.features.values()].filter((f) => f.policy === 'replicate' && f.backends.includes(backend) && (!only || f.name === only));
  if (features.length === 0) {
    return { status: 400, message: only ? `${name} is not a backend of a replicated feature named ${only}` : `${name} is not a backend of any replicated feature` };
  }
  const backlog: Record<string, number> = {};
  for (const f of features) backlog[f.name] = await daemon.converge.resync(f.name, name, 'runtime API: resync');
  return { status: 200, json: { backend: name, state: backend.health.state, backlog } };
}

/** The status page, or with ?part=main only the part its script swaps in on each refresh. */
async function statusPage(daemon: RuntimeApiHost, rawQuery: string): Promise<ApiAnswer> {
  const part = new URLSearchParams(rawQuery).get('part');
  if (part !== null && part !== 'main') return { status: 400, message: `Unknown part ${JSON.stringify(part)}: the status page has only part=main` };
  const view = await statusDocument(daemon);
  const history = daemon.history.view();
  const body = part === 'main' ? renderMain(view, history) : renderStatusPage(view, history);
  return { status: 200, text: { contentType: 'text/html; charset=utf-8', body } };
}

/** repair=1 / prune=1 (or true, yes, on) from the query, a form body or a JSON body. */
function driftFlags(rawQuery: string, body: Buffer): Set<string> {
  const values = new URLSearchParams(rawQuery);
  const text = body.toString('utf8').trim();
  if (text.startsWith('{')) {
    try {
      for (const [k, v] of Object.entries(JSON.parse(text) as Record<string, unknown>)) values.set(k, String(v));
    } catch {
      /* not JSON after all: no flags from the body */
    }
  } else for (const [k, v] of new URLSearchParams(text)) values.set(k, v);
  return new Set([...values].filter(([, v]) => /^(1|true|yes|on)$/i.test(v)).map(([k]) => k));
}

/** Jobs listed by name in the status document; the counts cover the rest. */
const STATUS_ORPHANS = 100;

export async function statusDocument(daemon: RuntimeApiHost) {
  const rt = daemon.runtime;
  const finished = daemon.rex && (await daemon.rex.store.finishedCounts(Date.now() - 60_000));
  const cfg = rt.config;
  return {
    config: cfg.source ?? null,
    listeners: daemon.listeners.map((l) => ({ scheme: l.scheme, host: l.host, port: l.port })),
    backends: [...rt.backends.values()].map((b) => ({
      name: b.name,
      url: b.config.url,
      ...b.health.snapshot(),
      features: [...rt.features.values()].filter((f) => f.backends.includes(b)).map((f) => f.name),
    })),
    features: [...rt.features.values()].map((f) => ({
      name: f.name,
      policy: answeredLocally(f.name, f.backends.length) ? 'local' : f.policy,
      backends: f.backends.map((b) => b.name),
      on_backend_down: f.policy === 'replicate' ? f.onBackendDown : undefined,
      min_success: f.policy === 'replicate' && f.onBackendDown === 'catch_up' ? f.minSuccess : undefined,
      catching_up: f.backends.filter((b) => daemon.converge.isLagging(f.name, b.name)).map((b) => b.name),
    })),
    convergence: await daemon.converge.status(),
    traffic: daemon.traffic.summary(),
    cluster: daemon.cluster && (await clusterStatus(daemon.cluster, daemon.leadership)),
    rex: daemon.rex && {
      jobs: await daemon.rex.store.countByState(),
      mqtt: daemon.rex.mqttConnected ? 'connected' : 'disconnected',
      /** Finished with an exit status other than 0 (EXCEPTION included); and finished in the last minute. */
      failed: finished!.failed,
      finishedLastMinute: finished!.recent,
      ...daemon.rex.stats,
      // Running when proxy-proxy last stopped and silent since: each ends at `due` unless its host reports.
      lostReportSuspects: (await daemon.rex.store.orphans(STATUS_ORPHANS)).map((j) => ({
        taskId: j.taskId,
        host: j.host,
        jobUuid: j.jobUuid,
        since: j.orphanSince,
        due: j.orphanDue,
      })),
    },
  };
}

/**
 * Every instance of the cluster from the heartbeat rows, and the one that leads (null: none),
 * or why they could not be read.
 */
async function clusterStatus(cluster: ClusterDirectory, leadership: Pick<Leadership, 'leaderId'> | undefined): Promise<unknown> {
  let instances: Awaited<ReturnType<ClusterDirectory['instances']>>;
  try {
    instances = await cluster.instances();
  } catch (err) {
    return { self: cluster.selfId, error: `cannot read the cluster's instances: ${(err as Error).message}` };
  }
  let leader: string | null | undefined;
  try {
    const id = (await leadership?.leaderId()) ?? null;
    // The database may know the leader's id cut short (a connection name holds 63 bytes).
    leader = id && (instances.find((i) => i.id === id) ?? instances.find((i) => i.id.startsWith(id)))?.id;
    leader ??= id;
  } catch {
    leader = undefined;
  }
  return { self: cluster.selfId, instances, ...(leader === undefined ? {} : { leader }) };
}
