// Everything built from one validated configuration: backends with their pools and health,
// the per-feature policy settings, the router. Replaced as a whole when the config changes.
import type { Config } from './config/types.js';
import { Backend } from './backends/backend.js';
import { BackendCatalog } from './backends/backend-catalog.js';
import { HealthChecker } from './backends/health-checker.js';
import type { BackendState } from './backends/health-state.js';
import { ALL_FEATURES } from './features/index.js';
import type { FeatureModule } from './features/route.js';
import type { FeatureRuntime } from './fanout/request-context.js';
import { Router } from './http/router.js';
import type { Logger } from './ops/logger.js';

export class Runtime {
  readonly backends = new Map<string, Backend>();
  readonly features = new Map<string, FeatureRuntime>();
  readonly modules = new Map<string, FeatureModule>();
  readonly router: Router;
  readonly health: HealthChecker;
  readonly catalog: BackendCatalog;

  constructor(readonly config: Config, logger: Logger) {
    const onState = (backend: string, from: BackendState, to: BackendState, why: string) => {
      const level = to === 'up' ? 'info' : 'warn';
      logger.log(level, `backend ${backend}: ${from === to ? to : `${from} → ${to}`}: ${why}`, { backend, from, to });
      if (to === 'up' && from !== 'up') void this.catalog.refresh(backend);
    };
    for (const cfg of Object.values(config.backends)) {
      this.backends.set(cfg.name, new Backend(cfg, config.health_check, config.passive_ejection, onState));
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
  }

  start(): void {
    this.health.start();
    this.catalog.start();
  }

  async stop(): Promise<void> {
    this.health.stop();
    this.catalog.stop();
    await Promise.all([...this.backends.values()].map((b) => b.close()));
  }
}
