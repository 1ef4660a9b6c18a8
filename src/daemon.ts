// Builds the running daemon from a validated configuration: logger, runtime (backends, health,
// routes), listeners. Stops gracefully: stop accepting, let in-flight requests finish within a
// bound, then close. SIGHUP-style reloads swap the runtime atomically.
import type { Config } from './config/types.js';
import { loadConfig } from './config/load.js';
import { RequestHandler } from './http/request-handler.js';
import { openListeners, type BoundListener } from './http/listeners.js';
import { takeInheritedSockets } from './http/socket-activation.js';
import { reconcileListeners } from './http/listener-set.js';
import { SystemResolver, type NameResolver } from './http/trusted-hosts.js';
import { LogBuffer } from './ops/log-buffer.js';
import { createLogger, type Logger } from './ops/logger.js';
import { Runtime } from './runtime.js';
import { Convergence } from './converge/convergence.js';
import { DriftScheduler } from './converge/drift/drift-schedule.js';
import { featureByName } from './features/index.js';
import { openPluginStore, openStateStore } from './state/open-store.js';
import { SoleLeader, type Leadership } from './state/leadership.js';
import { RetentionChore } from './state/retention.js';
import { retentionTasks } from './state/retention-tasks.js';
import type { PluginStore } from './state/plugin-store.js';
import { DynflowService } from './dynflow/dynflow-service.js';
import type { OpenscapService } from './openscap/openscap-service.js';
import { Metrics } from './ops/metrics.js';
import { TrafficWindow } from './ops/traffic-window.js';
import { StatusHistory, type BackendReading, type StripState } from './ops/status-history.js';
import type { StateStore } from './state/store.js';
import type { RexService } from './rex/rex-service.js';
import { answeredLocally } from './features/index.js';
import type { SharedSpool } from './state/postgresql/open-spool.js';
import { advertisedRuntimeUrl, type ClusterMembership } from './ops/cluster-ops.js';
import { OPERATIONS as HOSTED_OPERATIONS } from './rex/launch-input.js';

export interface DaemonOptions {
  /** The remote-execution spool shared with other instances (PostgreSQL); default: the state file's. */
  rexSpool?: SharedSpool;
  logFormat?: 'json' | 'text';
  resolver?: NameResolver;
  /** Quiet logger for in-process tests. */
  silent?: boolean;
  /** Between two runs of the retention clean-up, ms (tests shorten it). */
  cleanupIntervalMs?: number;
  /** The cluster this instance belongs to (the postgresql state driver's instances table). */
  cluster?: ClusterMembership;
  /** How often the status page's history is sampled (default 10 s); tests shorten it. */
  historyIntervalMs?: number;
}

export class Daemon {
  readonly logs = new LogBuffer();
  readonly logger: Logger;
  listeners: BoundListener[] = [];
  private openedStore: StateStore | undefined;
  /** Hosts' OpenSCAP reports, when the openscap feature is configured. */
  openscap: OpenscapService | undefined;
  /** Forwarded dynflow task owners and OpenSCAP reports (opened by start()). */
  pluginStore!: PluginStore;
  readonly metrics: Metrics;
  readonly traffic = new TrafficWindow();
  /** The last hour the status page draws. */
  readonly history: StatusHistory;
  readonly converge: Convergence;
  readonly drift: DriftScheduler;
  /** The cluster's instances (state.driver: postgresql); runtime operations apply to all of them. */
  cluster: ClusterMembership | undefined;
  /** Whether this instance runs the cluster's chores (drift schedule, clean-up); set by start(). */
  leadership: Leadership | undefined;
  /** Prunes what is past its retention, on the leader (started by start()). */
  retention: RetentionChore | undefined;
  /** Where the other instances reach this one's runtime API (set by start()). */
  runtimeUrl: string | null = null;
  /** The remote-execution spool, when rex.enabled (created by start()). */
  rex: RexService | undefined;
  private current: Runtime;
  private readonly handler: RequestHandler;
  private stopping: Promise<void> | undefined;
  private reloading: Promise<unknown> = Promise.resolve();

  constructor(
    config: Config,
    private readonly options: DaemonOptions = {},
  ) {
    // winston loads once the daemon listens (start()): not before the first answer.
    this.logger = createLogger(config.log_level, this.logs, options.logFormat, { deferWinston: true });
    if (options.silent) for (const t of this.logger.transports) if (t.constructor.name === 'Console') t.silent = true;
    this.current = new Runtime(config, this.logger);
    this.current.onBackendReturned = (name) => this.verifyReturned(name);
    this.current.onBackendState = (name, why) => this.history.noteBackend(name, why);
    this.converge = new Convergence(() => this.store, () => this.current, this.logger);
    this.drift = new DriftScheduler(this);
    this.cluster = options.cluster;
    const resolver = options.resolver ?? new SystemResolver();
    this.handler = new RequestHandler(() => this.current, this.logger, this.logs, resolver, this.converge);
    this.metrics = new Metrics({
      backends: () =>
        [...this.current.backends.values()].map((b) => ({ name: b.name, state: b.state, ejected: b.health.ejected, ejections: b.health.snapshot().ejections })),
      convergence: async () => {
        const c = await this.converge.status();
        const backlog = Object.entries(c.catchUpBacklog).flatMap(([feature, per]) => Object.entries(per).map(([backend, size]) => ({ feature, backend, size })));
        return { openSagas: c.openSagas, pendingCompensations: c.pendingCompensations.length, backlog };
      },
      sagas: () => this.store.sagaCounts(),
      rex: () => this.rex && { jobs: () => this.rex!.store.countByState(), stats: this.rex.stats, mqttConnected: this.rex.mqttConnected },
    });
    this.history = new StatusHistory(
      {
        backends: () => this.backendReadings(),
        traffic: this.traffic,
        backlog: () => this.backlogPerBackend(),
        spool: async () => {
          const rex = this.rex;
          if (!rex) return undefined;
          const [byState, finished] = await Promise.all([rex.store.countByState(), rex.store.finishedCounts(Date.now() - 60_000)]);
          return { byState, failed: finished.failed, lastMinute: finished.recent };
        },
      },
      { intervalMs: options.historyIntervalMs, onError: (err) => this.logger.warn(`status history: a figure could not be read: ${err.message}`) },
    );
    this.handler.observer = (record, ms) => {
      this.metrics.observe(record, ms);
      this.traffic.observe(record, ms);
    };
    // The runtime API and its status page are loaded at their first request, not at start-up.
    this.handler.ops = async (method, path, client, rawQuery, body) => (await import('./ops/runtime-api.js')).runtimeApi(this, method, path, client, rawQuery, body);
  }

  /** The state store; opened by start() (a networked driver must connect first). */
  get store(): StateStore {
    if (!this.openedStore) throw new Error('the state store is opened by start()');
    return this.openedStore;
  }

  /** Checks that a backend that came back still holds what it held; resyncs it when it does not. */
  private verifyReturned(name: string): void {
    const backend = this.current.backends.get(name);
    if (!backend) return;
    this.converge
      .verifyReturned(backend, (feature) => featureByName(feature)?.drift, this.config.snapshot_timeout_ms)
      .catch((err: unknown) => this.logger.error(`reset check of ${name} failed: ${(err as Error).stack ?? String(err)}`));
  }

  /** Each backend as its health strip shows it: operator states, down, ejected, catching up, up. */
  private backendReadings(): BackendReading[] {
    const rt = this.current;
    return [...rt.backends.values()].map((b) => {
      const snap = b.health.snapshot();
      let state: StripState = snap.state;
      if (state === 'up' && snap.ejectedUntil !== null) state = 'ejected';
      else if (state === 'up' && [...rt.features.values()].some((f) => f.backends.includes(b) && this.converge.isLagging(f.name, b.name))) state = 'catching_up';
      return snap.ejectedUntil !== null ? { name: b.name, state, ejectedUntil: snap.ejectedUntil } : { name: b.name, state };
    });
  }

  /** Ledger entries each backend has yet to apply, over its replicated features. */
  private async backlogPerBackend(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const f of this.current.features.values()) {
      if (f.policy !== 'replicate') continue;
      for (const b of f.backends) out[b.name] = (out[b.name] ?? 0) + (await this.store.backlogSize(f.name, b.name));
    }
    return out;
  }

  get runtime(): Runtime {
    return this.current;
  }

  get config(): Config {
    return this.current.config;
  }

  async start(): Promise<void> {
    const pg = this.config.state.driver === 'postgresql' ? await postgresParts() : undefined;
    // The sagas it begins carry the id of its heartbeat row: a survivor takes them over once its lease expires.
    // A shared database away at start does not stop the instance (docs/high-availability.md): it
    // starts without it, refuses what must be recorded, and opens the store once it is back.
    this.openedStore ??= await openStateStore(this.config, {
      instanceId: this.cluster?.selfId,
      waitForDatabase: {
        onWaiting: (reason) =>
          this.logger.warn(`state database unavailable: ${reason}; replicated writes and REX launches are refused (503) until it is back, failover and primary features work`),
        onReady: (m) => this.logger.info(`state database reachable: schema version ${m.to}${m.from === m.to ? '' : ` (migrated from ${m.from})`}`),
      },
    });
    const shared = pg && this.openedStore instanceof pg.PgStateStore ? { pg, store: this.openedStore } : undefined;
    // With a shared database every instance keeps a heartbeat row there (instances.ts).
    if (!this.cluster && shared) {
      this.cluster = new shared.pg.InstanceRegistry(shared.store.pool, {
        id: shared.store.instanceId,
        leaseMs: this.config.state.lease_ms,
        heartbeatMs: Math.floor(this.config.state.lease_ms / 5),
        onError: (err) => this.logger.warn(`instance heartbeat: ${err.message}`),
      });
    }
    // One instance of a cluster runs its chores; a lone instance runs them all the time.
    if (!this.leadership) {
      const lease = this.config.state.lease_ms;
      this.leadership = shared
        ? new shared.pg.PgLeaderElection(shared.pg.dedicatedConnection(shared.store.pool, 'leader'), shared.store.pool, {
            selfId: shared.store.instanceId,
            retryMs: Math.floor(lease / 5),
            checkTimeoutMs: Math.floor(lease / 2),
            idleTimeoutMs: lease,
            onChange: (leading, why) =>
              leading
                ? this.logger.info(`cluster: this instance leads the cluster's chores (drift schedule, clean-up)`)
                : this.logger.warn(`cluster: this instance no longer leads the cluster's chores: ${why}`),
          })
        : new SoleLeader(this.cluster?.selfId ?? 'local');
    }
    this.leadership.start();
    // Task owners and OpenSCAP reports live where the rest of the state does: with a shared
    // database every instance of the cluster sees them.
    this.pluginStore ??= shared ? new shared.pg.PgPluginStore(shared.store.pool) : openPluginStore(this.config.state_dir);
    this.current.start();
    // Sagas a crash left open are settled before the first request can touch their keys.
    await this.converge.start();
    // A backend may have been rebuilt while the daemon was not running.
    for (const name of this.current.backends.keys()) this.verifyReturned(name);
    // Broker and scheduler run before the first host or Foreman request can arrive.
    if (this.config.rex.enabled && this.config.rex.mode === 'pull-mqtt') {
      // Loaded only when enabled: MQTT client and broker cost memory a daemon without REX keeps.
      const { RexService } = await import('./rex/rex-service.js');
      // On a shared database the spool is shared too: any instance serves any job.
      const spool =
        this.options.rexSpool ??
        (shared && this.config.state.url
          ? shared.pg.spoolOnPool(shared.store.pool, this.config.state.url, this.cluster?.selfId ?? shared.pg.newInstanceId())
          : undefined);
      this.rex = new RexService(() => this.current.config, this.logger, spool);
      this.handler.services.set('script', this.rex.script);
      await this.rex.start();
    }
    const rex = this.rex;
    this.handler.services.set(
      'dynflow',
      new DynflowService({
        backends: () => this.current.features.get('dynflow')?.backends ?? [],
        backend: (name) => this.current.backends.get(name),
        store: this.pluginStore,
        ...(rex ? { hosted: { service: rex.dynflow, operations: HOSTED_OPERATIONS } } : {}),
        maxLaunchBytes: () => this.current.config.rex.max_launch_bytes,
        logger: this.logger,
      }),
    );
    if (this.config.features.openscap && this.config.foreman_url) {
      // Loaded only when configured: the ARF parser costs memory a daemon without it keeps.
      const { OpenscapService } = await import('./openscap/openscap-service.js');
      this.openscap = new OpenscapService({ store: this.pluginStore, config: () => this.current.config, logger: this.logger });
      this.handler.services.set('openscap', this.openscap);
      await this.openscap.start();
    }
    // Sockets systemd holds for us (socket activation) take the place of binding our own.
    const inherited = takeInheritedSockets();
    this.listeners = await openListeners(this.current.config, this.handler.listener, inherited);
    if (inherited.length > 0) {
      for (const l of this.listeners) l.server.close();
      const list = inherited.map((x) => `${x.name || 'unnamed'} (fd ${x.fd}${x.port === undefined ? '' : `, port ${x.port}`})`).join(', ');
      throw new Error(`systemd passed listening sockets that match no listener of the config (http_port, https_port): ${list}`);
    }
    for (const l of this.listeners) this.logger.info(`listening on ${l.scheme}://${l.host}:${l.port}${l.inherited ? ' (socket from systemd)' : ''}`);
    this.runtimeUrl = advertisedRuntimeUrl(this.config, this.listeners);
    // A database that is away now does not stop the instance: the heartbeat keeps trying.
    await this.cluster?.join(this.runtimeUrl).catch((err: Error) => this.logger.warn(`cluster: instance row not written yet: ${err.message}`));
    this.drift.configure(this.config.drift);
    this.retention = new RetentionChore({
      tasks: () =>
        retentionTasks({
          config: this.current.config,
          store: this.store,
          plugins: this.pluginStore,
          jobs: this.rex?.store,
          instances: pg && this.cluster instanceof pg.InstanceRegistry ? this.cluster : undefined,
          pruneTombstones: () => this.converge.pruneTombstones(),
        }),
      leadership: this.leadership,
      logger: this.logger,
      intervalMs: this.options.cleanupIntervalMs,
    });
    this.retention.start();
    this.history.start();
    const features = Object.values(this.config.features).map((f) =>
      answeredLocally(f.name, f.backends.length) ? `${f.name}=local` : `${f.name}=${f.policy}[${f.backends.join(',')}]`,
    );
    this.logger.info(`proxy-proxy started: ${features.join(' ')}`);
    void this.logger.attachSoon();
  }

  /** URL of the first listener of a scheme, for tests and the demo banner. */
  url(scheme: 'http' | 'https'): string | undefined {
    const l = this.listeners.find((x) => x.scheme === scheme);
    if (!l) return undefined;
    const host = l.host === '::' || l.host === '0.0.0.0' ? '127.0.0.1' : l.host.includes(':') ? `[${l.host}]` : l.host;
    return `${scheme}://${host}:${l.port}`;
  }

  /**
   * Re-read the config file through the same loader as start-up. An invalid file is refused and
   * the running configuration stays. A valid one is swapped in atomically: requests already
   * dispatched finish on the old runtime, unchanged listeners are kept.
   */
  reload(): Promise<boolean> {
    // Two SIGHUPs in a row apply one after the other, never interleaved.
    const run = this.reloading.then(() => this.doReload());
    this.reloading = run.catch(() => false);
    return run;
  }

  private async doReload(): Promise<boolean> {
    const source = this.config.source;
    if (!source) return false;
    let next: Config;
    try {
      next = loadConfig(source);
    } catch (err) {
      this.logger.error(`reload refused, keeping the running configuration:\n${(err as Error).message}`);
      return false;
    }
    const before = this.config;
    if (next.state_dir !== before.state_dir) this.logger.warn(`reload: state_dir changed; the state store moves only on a restart`);
    if (JSON.stringify(next.rex) !== JSON.stringify(before.rex)) {
      this.logger.warn('reload: rex changed; timers and limits apply now, enabling, broker, listener and certificates only on a restart');
    }
    const old = this.current;
    const fresh = new Runtime(next, this.logger, old);
    fresh.start();
    fresh.onBackendReturned = (name) => this.verifyReturned(name);
    fresh.onBackendState = (name, why) => this.history.noteBackend(name, why);
    this.current = fresh;
    // A backend added to a replicated feature starts with the whole ledger as its backlog.
    await this.converge.scanBacklogs();
    this.drift.configure(next.drift);
    this.logger.level = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' }[next.log_level];
    try {
      const l = await reconcileListeners(this.listeners, before, next, this.handler.listener);
      this.listeners = l.listeners;
      for (const x of l.opened) this.logger.info(`listening on ${x.scheme}://${x.host}:${x.port}`);
      for (const x of l.closed) this.logger.info(`closed listener ${x.scheme}://${x.host}:${x.port}`);
      if (l.reloadedTls) this.logger.info('HTTPS certificates reloaded');
    } catch (err) {
      this.logger.error(`reload: listeners could not be changed, keeping the old ones: ${(err as Error).message}`);
    }
    this.logger.info(`configuration reloaded from ${source}`);
    // Requests already dispatched finish on the old pools: close() waits for them.
    void old.stop(fresh);
    return true;
  }

  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const bound = this.config.shutdown_timeout_ms;
    // A drift run in progress is cut short rather than waited for; a clean-up ends after its statement.
    const driftStopped = this.drift.stop();
    const retentionStopped = this.retention?.stop();
    this.history.stop();
    this.logger.cancelSoon();
    this.logger.info(`stopping: no new connections, waiting up to ${bound} ms for ${this.handler.inFlight} in-flight request(s)`);
    const closed = this.listeners.map((l) => new Promise<void>((r) => l.server.close(() => r())));
    for (const l of this.listeners) l.server.closeIdleConnections();
    const deadline = Date.now() + bound;
    while (this.handler.inFlight > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      for (const l of this.listeners) l.server.closeIdleConnections();
    }
    if (this.handler.inFlight > 0) this.logger.warn(`stop: ${this.handler.inFlight} request(s) cut off after ${bound} ms`);
    for (const l of this.listeners) l.server.closeAllConnections();
    await Promise.all(closed);
    // No request can reach the spool now: commit what requests changed, settle callbacks in flight.
    await this.rex?.stop(bound);
    await this.openscap?.stop();
    await driftStopped;
    await retentionStopped;
    await this.leadership?.stop();
    await this.cluster?.leave();
    await this.converge.stop();
    await this.current.stop();
    await this.openedStore?.close();
    await this.pluginStore?.close();
    this.logger.info('stopped');
  }
}

/** The PostgreSQL driver's modules (and pg with them): loaded only when the configuration uses it. */
async function postgresParts() {
  const [store, instances, leader, plugins, spool] = await Promise.all([
    import('./state/postgresql/store.js'),
    import('./state/postgresql/instances.js'),
    import('./state/postgresql/leader-election.js'),
    import('./state/postgresql/plugin-store.js'),
    import('./state/postgresql/open-spool.js'),
  ]);
  return {
    PgStateStore: store.PgStateStore,
    dedicatedConnection: store.dedicatedConnection,
    InstanceRegistry: instances.InstanceRegistry,
    newInstanceId: instances.newInstanceId,
    PgLeaderElection: leader.PgLeaderElection,
    PgPluginStore: plugins.PgPluginStore,
    spoolOnPool: spool.spoolOnPool,
  };
}
