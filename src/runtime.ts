// Everything built from one validated configuration: backends with their pools and health,
// the per-feature policy settings, the router. Replaced as a whole when the config changes.
import type { Config } from './config/types.js';
import { Backend } from './backends/backend.js';
import { BackendCatalog } from './backends/backend-catalog.js';
import { HealthChecker } from './backends/health-checker.js';
import type { BackendState } from './backends/health-state.js';
import { ALL_FEATURES } from './features/index.js';
import type { FeatureModule } from './features/module.js';
import type { FeatureRuntime } from './fanout/feature-runtime.js';
import { Router } from './http/router.js';
import type { Logger } from './ops/logger.js';
import { ForemanClient, foremanTls } from './relay/foreman-client.js';

export class Runtime {
  readonly backends = new Map<string, Backend>();
  readonly features = new Map<string, FeatureRuntime>();
  readonly modules = new Map<string, FeatureModule>();
  readonly router: Router;
  readonly health: HealthChecker;
  readonly catalog: BackendCatalog;
  /** proxy-proxy's own connection to Foreman, for the relays it serves itself (templates, registration). */
  readonly foreman: ForemanClient | undefined;
  /** Called when a backend is up again (checks pass again, or enabled): the daemon checks it was not reset. */
  onBackendReturned: ((backend: string) => void) | undefined;
  /** Called on every state change of a backend, ejections included (the status history records it). */
  onBackendState: ((backend: string, why: string) => void) | undefined;

  /**
   * `previous`: the runtime being replaced by a reload. Backends whose settings did not change
   * are taken over as they are (pool, health, ejection, drained/maintenance), so a reload
   * neither drops connections nor forgets what the operator or the health checks decided.
   */
  constructor(readonly config: Config, logger: Logger, previous?: Runtime) {
    const onState = (backend: string, from: BackendState, to: BackendState, why: string) => {
      const level = to === 'up' ? 'info' : 'warn';
      logger.log(level, `backend ${backend}: ${from === to ? to : `${from} → ${to}`}: ${why}`, { backend, from, to });
      this.onBackendState?.(backend, why);
      if (to === 'up' && from !== 'up') {
        void this.catalog.refresh(backend);
        this.onBackendReturned?.(backend);
      }
    };
    for (const cfg of Object.values(config.backends)) {
      const old = previous?.backends.get(cfg.name);
      const reusable =
        old &&
        JSON.stringify(old.config) === JSON.stringify(cfg) &&
        JSON.stringify(previous!.config.health_check) === JSON.stringify(config.health_check) &&
        JSON.stringify(previous!.config.passive_ejection) === JSON.stringify(config.passive_ejection);
      const backend = reusable ? old : new Backend(cfg, config.health_check, config.passive_ejection, onState);
      backend.onStateChange = onState;
      this.backends.set(cfg.name, backend);
    }
    for (const f of Object.values(config.features)) {
      this.features.set(f.name, {
        name: f.name,
        policy: f.policy,
        order: f.order,
        backends: f.backends.map((n) => this.backends.get(n)!),
        cursor: 0,
        onBackendDown: f.on_backend_down,
        minSuccess: f.min_success,
      });
    }
    for (const m of ALL_FEATURES) this.modules.set(m.name, m);
    this.router = new Router(ALL_FEATURES);
    const all = [...this.backends.values()];
    this.health = new HealthChecker(all, config.health_check);
    this.catalog = new BackendCatalog(all, Math.max(config.health_check.timeout_ms, 5_000));
    this.foreman = config.foreman_url === undefined ? undefined : new ForemanClient(config.foreman_url, foremanTls(config));
  }

  start(): void {
    this.health.start();
    this.catalog.start();
  }

  /** Stops timers and closes the pools of backends the successor (if any) did not take over. */
  async stop(successor?: Runtime): Promise<void> {
    this.health.stop();
    this.catalog.stop();
    const taken = new Set(successor ? successor.backends.values() : []);
    await Promise.all([
      ...[...this.backends.values()].filter((b) => !taken.has(b)).map((b) => b.close()),
      // Relays in flight finish first: close() waits for them.
      this.foreman?.close(),
    ]);
  }
}
