// Prometheus metrics. Request and backend-call figures are fed from the same record that makes
// each request's log line into tallies (ops/tally.ts: a Map lookup and an increment per figure);
// prom-client itself, its default process metrics and the collectors that read health,
// ejections and convergence state are loaded when /metrics is first scraped, so a daemon nobody
// scrapes neither pays their memory nor their per-request cost.
import type { Gauge as GaugeClass, Registry } from 'prom-client';
import type { Attempt } from '../fanout/outcome.js';
import { SEP, TallyCounter, TallyHistogram } from './tally.js';

export interface RequestRecord {
  status: number;
  feature?: string;
  route?: string;
  policy?: string;
  attempts?: Attempt[];
}

/** What the scrape-time collectors read; supplied by the daemon. */
export interface MetricsSources {
  backends(): { name: string; state: string; ejected: boolean; ejections: number }[];
  convergence(): Promise<{ openSagas: number; pendingCompensations: number; backlog: { feature: string; backend: string; size: number }[] }>;
  sagas(): Promise<{ feature: string; status: string; count: number }[]>;
  /** Remote-execution spool figures; undefined when rex is off. */
  rex(): { jobs(): Promise<Record<string, number>>; stats: { doorbellsSent: number; doorbellsResent: number; cancelsSent: number; pickupTimeouts: number; executionTimeouts: number; lostReports: number }; mqttConnected: boolean } | undefined;
}

const STATES = ['up', 'down', 'drained', 'maintenance'];
/** Seconds, from a loopback answer to Foreman's 60 s request timeout. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  private readonly requests = new TallyCounter('proxy_proxy_requests_total', 'Requests answered, by smart-proxy feature, route and HTTP status.', [
    'feature',
    'route',
    'status',
  ]);
  private readonly requestSeconds = new TallyHistogram(
    'proxy_proxy_request_duration_seconds',
    'Time to answer a request, by feature and policy.',
    ['feature', 'policy'],
    LATENCY_BUCKETS,
  );
  private readonly backendSeconds = new TallyHistogram(
    'proxy_proxy_backend_call_duration_seconds',
    'Duration of calls to backends, by backend and phase (send, snapshot, restore, confirm).',
    ['backend', 'phase'],
    LATENCY_BUCKETS,
  );
  private readonly backendCalls = new TallyCounter('proxy_proxy_backend_calls_total', 'Calls to backends by outcome: the HTTP status, or the transport error code.', [
    'backend',
    'phase',
    'outcome',
  ]);
  private registry: Promise<Registry> | undefined;

  constructor(private readonly sources: MetricsSources) {}

  private async build(): Promise<Registry> {
    const { Gauge, Registry, collectDefaultMetrics } = await import('prom-client');
    const registry = new Registry();
    const registers = [registry];
    const sources = this.sources;
    rexMetrics(Gauge, registry, sources);
    collectDefaultMetrics({ register: registry, prefix: 'proxy_proxy_' });
    // The tallies have the shape of prom-client's metrics (see tally.ts).
    for (const tally of [this.requests, this.requestSeconds, this.backendSeconds, this.backendCalls]) {
      registry.registerMetric(tally as unknown as Parameters<Registry['registerMetric']>[0]);
    }
    new Gauge({
      name: 'proxy_proxy_sagas',
      help: 'Replicated writes in the saga log by feature and status: open, completed, compensating, compensated.',
      labelNames: ['feature', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const s of await sources.sagas()) this.set({ feature: s.feature, status: s.status }, s.count);
      },
    });
    new Gauge({
      name: 'proxy_proxy_backend_state',
      help: 'Backend state: 1 for the state the backend is in, 0 for the others.',
      labelNames: ['backend', 'state'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.backends()) for (const s of STATES) this.set({ backend: b.name, state: s }, b.state === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'proxy_proxy_backend_ejected',
      help: '1 while a backend is ejected from live traffic after consecutive failures.',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.backends()) this.set({ backend: b.name }, b.ejected ? 1 : 0);
      },
    });
    new Gauge({
      name: 'proxy_proxy_backend_ejections',
      help: 'Ejections in the current back-off series of a backend (resets after it behaves).',
      labelNames: ['backend'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.backends()) this.set({ backend: b.name }, b.ejections);
      },
    });
    new Gauge({
      name: 'proxy_proxy_sagas_open',
      help: 'Replicated writes in flight or left open by a crash.',
      registers,
      async collect() {
        this.set((await sources.convergence()).openSagas);
      },
    });
    new Gauge({
      name: 'proxy_proxy_compensations_pending',
      help: 'Replicated writes whose undo failed and is being retried.',
      registers,
      async collect() {
        this.set((await sources.convergence()).pendingCompensations);
      },
    });
    new Gauge({
      name: 'proxy_proxy_catch_up_backlog',
      help: 'Ledger entries a backend has not applied yet, by feature and backend.',
      labelNames: ['feature', 'backend'],
      registers,
      async collect() {
        this.reset();
        for (const b of (await sources.convergence()).backlog) this.set({ feature: b.feature, backend: b.backend }, b.size);
      },
    });
    return registry;
  }

  observe(r: RequestRecord, ms: number): void {
    const feature = r.feature ?? 'root';
    this.requests.inc(feature + SEP + (r.route ?? 'none') + SEP + r.status);
    this.requestSeconds.observe(feature + SEP + (r.policy ?? 'none'), ms / 1000);
    const attempts = r.attempts;
    if (!attempts) return;
    for (const a of attempts) {
      const call = a.backend + SEP + a.phase;
      this.backendSeconds.observe(call, a.ms / 1000);
      this.backendCalls.inc(call + SEP + a.outcome);
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    // A failed build (it cannot, short of a broken install) is tried again on the next scrape.
    this.registry ??= this.build().catch((err: unknown) => {
      this.registry = undefined;
      throw err;
    });
    const registry = await this.registry;
    return { contentType: registry.contentType, body: await registry.metrics() };
  }
}

/** Remote-execution spool figures, read from the spool when scraped (zero while rex is off). */
function rexMetrics(Gauge: typeof GaugeClass, registry: Registry, sources: MetricsSources): void {
  const registers = [registry];
  new Gauge({
    name: 'proxy_proxy_rex_jobs',
    help: 'Remote-execution jobs in the spool by state.',
    labelNames: ['state'],
    registers,
    async collect() {
      this.reset();
      const r = sources.rex();
      if (!r) return;
      const jobs = await r.jobs();
      for (const state of ['ready_for_pickup', 'notified', 'delivered', 'running', 'finished']) this.set({ state }, jobs[state] ?? 0);
    },
  });
  const counter = (name: string, help: string, pick: (s: NonNullable<ReturnType<MetricsSources['rex']>>['stats']) => number) =>
    new Gauge({
      // prom-client counters cannot be set from a source; a _total gauge fed from monotonic counts reads the same.
      name,
      help,
      registers,
      collect() {
        const r = sources.rex();
        this.set(r ? pick(r.stats) : 0);
      },
    });
  counter('proxy_proxy_rex_doorbells_sent_total', 'First doorbells published to hosts.', (s) => s.doorbellsSent);
  counter('proxy_proxy_rex_doorbells_resent_total', 'Doorbells published again because the job was not fetched in time.', (s) => s.doorbellsResent);
  counter('proxy_proxy_rex_cancels_sent_total', 'Cancel messages published to hosts.', (s) => s.cancelsSent);
  counter('proxy_proxy_rex_pickup_timeouts_total', 'Jobs finished because no host picked them up in time.', (s) => s.pickupTimeouts);
  counter('proxy_proxy_rex_execution_timeouts_total', 'Jobs that ran past their execution timeout.', (s) => s.executionTimeouts);
  counter('proxy_proxy_rex_lost_reports_total', 'Jobs ended because their host sent nothing after a restart (rex.lost_report_timeout).', (s) => s.lostReports);
  new Gauge({
    name: 'proxy_proxy_rex_mqtt_connected',
    help: '1 while the doorbell connection to the MQTT broker is up.',
    registers,
    collect() {
      this.set(sources.rex()?.mqttConnected ? 1 : 0);
    },
  });
}

