// Active health checks on a timer (HAProxy-like: every interval, `rise` good to come up, `fall`
// bad to go down). A check is GET /features: cheap, unauthenticated on every smart proxy, and it
// proves the Ruby process answers HTTP, not only that the port is open.
import type { HealthCheckConfig } from '../config/types.js';
import type { Backend } from './backend.js';
import { ControlClient } from './control-client.js';

export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  private readonly clients = new Map<string, ControlClient>();
  private running = new Set<string>();

  constructor(
    private readonly backends: Backend[],
    private readonly cfg: HealthCheckConfig,
  ) {
    for (const b of backends) this.clients.set(b.name, new ControlClient(b, cfg.timeout_ms));
  }

  start(): void {
    if (this.timer) return;
    void this.checkAll();
    this.timer = setInterval(() => void this.checkAll(), this.cfg.interval_ms);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // Checks in flight finish first.
    for (const c of this.clients.values()) c.close();
  }

  async checkAll(): Promise<void> {
    await Promise.all(this.backends.map((b) => this.checkOne(b)));
  }

  private async checkOne(backend: Backend): Promise<void> {
    // A slow check must not pile up behind itself.
    if (!backend.health.checksEnabled || this.running.has(backend.name)) return;
    this.running.add(backend.name);
    try {
      const res = await this.clients.get(backend.name)!.get('/features');
      backend.health.recordCheck(res.status === 200, `GET /features → ${res.status}`);
    } catch (err) {
      const e = err as { code?: string; message?: string };
      backend.health.recordCheck(false, e.code ?? e.message ?? 'error');
    } finally {
      this.running.delete(backend.name);
    }
  }
}
