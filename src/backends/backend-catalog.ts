// What each backend says about itself (/version, /v2/features), kept so that proxy-proxy's own
// root endpoints can report the backends' version, settings and capabilities without a backend
// call on Foreman's path, and keep answering the same while backends are down.
import type { Backend } from './backend.js';
import { ControlClient } from './control-client.js';

export interface V2FeatureEntry {
  http_enabled?: boolean;
  https_enabled?: boolean;
  settings?: Record<string, unknown>;
  state?: string;
  capabilities?: unknown[];
}

export interface BackendReport {
  version?: string;
  modules?: Record<string, string>;
  features?: Record<string, V2FeatureEntry>;
  fetchedAt: number;
}

const REFRESH_MS = 60_000;

export class BackendCatalog {
  private readonly reports = new Map<string, BackendReport>();
  private readonly clients = new Map<string, ControlClient>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly backends: Backend[], timeoutMs: number) {
    for (const b of backends) this.clients.set(b.name, new ControlClient(b, timeoutMs));
  }

  start(): void {
    void this.refreshAll();
    this.timer = setInterval(() => void this.refreshAll(), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    // Refreshes in flight finish first.
    for (const c of this.clients.values()) c.close();
  }

  report(name: string): BackendReport | undefined {
    return this.reports.get(name);
  }

  async refreshAll(): Promise<void> {
    await Promise.all(this.backends.map((b) => this.refresh(b.name)));
  }

  /** Best effort: a failed refresh keeps the last good report. */
  async refresh(name: string): Promise<void> {
    const client = this.clients.get(name);
    if (!client) return;
    const next: BackendReport = { ...this.reports.get(name), fetchedAt: Date.now() };
    let changed = false;
    try {
      const v = await client.get('/version');
      if (v.status === 200) {
        const doc = JSON.parse(v.body) as { version?: string; modules?: Record<string, string> };
        next.version = doc.version;
        next.modules = doc.modules;
        changed = true;
      }
    } catch {
      /* keep the previous report */
    }
    try {
      const f = await client.get('/v2/features');
      if (f.status === 200) {
        next.features = JSON.parse(f.body) as Record<string, V2FeatureEntry>;
        changed = true;
      }
    } catch {
      /* keep the previous report */
    }
    if (changed) this.reports.set(name, next);
  }
}
