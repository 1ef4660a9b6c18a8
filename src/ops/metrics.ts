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
  convergence(): { openSagas: number; pendingCompensations: number; backlog: { feature: string; backend: string; size: number }[] };
}

const STATES = ['up', 'down', 'drained', 'maintenance'];

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'feature' | 'route' | 'status'>;
  private readonly requestSeconds: Histogram<'feature' | 'policy'>;
  private readonly backendSeconds: Histogram<'backend' | 'phase'>;
  private readonly backendCalls: Counter<'backend' | 'phase' | 'outcome'>;
  readonly sagas: Counter<'feature' | 'outcome'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
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
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.backendSeconds = new Histogram({
      name: 'proxy_proxy_backend_call_duration_seconds',
      help: 'Duration of calls to backends, by backend and phase (send, snapshot, restore, confirm).',
      labelNames: ['backend', 'phase'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.backendCalls = new Counter({
      name: 'proxy_proxy_backend_calls_total',
      help: 'Calls to backends by outcome: the HTTP status, or the transport error code.',
      labelNames: ['backend', 'phase', 'outcome'],
      registers,
    });
    this.sagas = new Counter({
      name: 'proxy_proxy_saga_outcomes_total',
      help: 'Replicated writes by how they ended: completed, compensated, compensating.',
      labelNames: ['feature', 'outcome'],
      registers,
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
      collect() {
        this.set(sources.convergence().openSagas);
      },
    });
    new Gauge({
      name: 'proxy_proxy_compensations_pending',
      help: 'Replicated writes whose undo failed and is being retried.',
      registers,
      collect() {
        this.set(sources.convergence().pendingCompensations);
      },
    });
    new Gauge({
      name: 'proxy_proxy_catch_up_backlog',
      help: 'Ledger entries a backend has not applied yet, by feature and backend.',
      labelNames: ['feature', 'backend'],
      registers,
      collect() {
        this.reset();
        for (const b of sources.convergence().backlog) this.set({ feature: b.feature, backend: b.backend }, b.size);
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
