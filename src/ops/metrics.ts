// Prometheus metrics (prom-client). Request and backend-call figures are fed from the same
// record that makes each request's log line, so the hot path pays one observe per figure;
// health, ejections and convergence state are read when /metrics is scraped.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Attempt } from '../fanout/outcome.js';

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
  readonly registry = new Registry();
  private readonly requests: Counter<'feature' | 'route' | 'status'>;
  private readonly requestSeconds: Histogram<'feature' | 'policy'>;
  private readonly backendSeconds: Histogram<'backend' | 'phase'>;
  private readonly backendCalls: Counter<'backend' | 'phase' | 'outcome'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    this.rexMetrics(sources);
    collectDefaultMetrics({ register: this.registry, prefix: 'proxy_proxy_' });
    this.requests = new Counter({
      name: 'proxy_proxy_requests_total',
      help: 'Requests answered, by smart-proxy feature, route and HTTP status.',
      labelNames: ['feature', 'route', 'status'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'proxy_proxy_request_duration_seconds',
      help: 'Time to answer a request, by feature and policy.',
      labelNames: ['feature', 'policy'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.backendSeconds = new Histogram({
      name: 'proxy_proxy_backend_call_duration_seconds',
      help: 'Duration of calls to backends, by backend and phase (send, snapshot, restore, confirm).',
      labelNames: ['backend', 'phase'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.backendCalls = new Counter({
      name: 'proxy_proxy_backend_calls_total',
      help: 'Calls to backends by outcome: the HTTP status, or the transport error code.',
      labelNames: ['backend', 'phase', 'outcome'],
      registers,
    });
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
  }

  private rexMetrics(sources: MetricsSources): void {
    const registers = [this.registry];
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

  observe(r: RequestRecord, ms: number): void {
    const feature = r.feature ?? 'root';
    this.requests.inc({ feature, route: r.route ?? 'none', status: String(r.status) });
    this.requestSeconds.observe({ feature, policy: r.policy ?? 'none' }, ms / 1000);
    for (const a of r.attempts ?? []) {
      this.backendSeconds.observe({ backend: a.backend, phase: a.phase }, a.ms / 1000);
      this.backendCalls.inc({ backend: a.backend, phase: a.phase, outcome: a.outcome });
    }
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
