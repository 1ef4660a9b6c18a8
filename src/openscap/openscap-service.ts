// OpenSCAP reports hosts upload (features/openscap.ts service routes). An upload is committed
// to the state store before the host hears anything, then posted to Foreman once, the way
// smart_proxy_openscap posts it; Foreman's later reads and deletes are answered from the store
// (docs/plugin-protocols.md §3). A report is marked `sending` before its POST: a process that
// stops mid-POST leaves it `unknown` (visible, not re-posted), so Foreman never gets it twice.
import { isStateUnavailable } from '../state/unavailable.js';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { classifyCallError } from '../backends/call-error.js';
import type { Config } from '../config/types.js';
import type { IncomingCall, ModuleService, RouteSpec, ServiceAnswer } from '../features/route.js';
import { errorAnswer } from '../http/native-answer.js';
import type { Logger } from '../ops/logger.js';
import type { PluginStore } from '../state/plugin-store.js';
import { arfHtml } from './arf-html.js';
import { ArfUnreadable, arfDigest, parseArf } from './arf-report.js';

export interface OpenscapDeps {
  store: PluginStore;
  config(): Config;
  logger: Logger;
}

/** Reports are bzip2 XML; smart_proxy_openscap sets no limit, a large benchmark runs to MBs. */
const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
const SCAN_MS = 5_000;
const FOREMAN_TIMEOUT_MS = 60_000;
const BATCH = 20;

const json = (status: number, doc: unknown): ServiceAnswer => ({ status, contentType: 'json', body: JSON.stringify(doc) });

export class OpenscapService implements ModuleService {
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private agent: Agent | undefined;
  private stopped = false;

  constructor(private readonly deps: OpenscapDeps) {}

  async start(): Promise<void> {
    // The state database away at start: the scan retries what needs it every SCAN_MS.
    const orphaned = await this.deps.store.orphanedArfSends().catch((err: Error) => {
      if (!isStateUnavailable(err)) throw err;
      this.deps.logger.warn(`openscap: ${err.message}; reports are refused until it is back`);
      return 0;
    });
    if (orphaned > 0) {
      this.deps.logger.warn(`openscap: ${orphaned} report(s) were being posted to Foreman when proxy-proxy stopped; not posted again (Foreman may have them): check Foreman`);
    }
    this.timer = setInterval(() => this.kick(), SCAN_MS);
    this.timer.unref();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.scanning;
    await this.agent?.close();
  }

  bodyLimit(route: RouteSpec): number | undefined {
    return route.name === 'openscap.upload' ? MAX_UPLOAD_BYTES : undefined;
  }

  async serve(route: RouteSpec, call: IncomingCall): Promise<ServiceAnswer | undefined> {
    switch (route.name) {
      case 'openscap.upload':
        return this.upload(call);
      case 'openscap.report_xml':
      case 'openscap.report_html': {
        const report = await this.find(call);
        if (!report) return errorAnswer(call.headers, 500, `Could not find requested file, no report ${call.params.id} of ${call.params.cname} with digest ${call.params.digest} is stored here`);
        if (route.name === 'openscap.report_xml') return { status: 200, contentType: 'json', body: '', raw: { contentType: 'application/x-bzip2', body: report.body } };
        try {
          return { status: 200, contentType: 'html', body: arfHtml(report.cname, report.date, await parseArf(report.body)) };
        } catch (err) {
          return errorAnswer(call.headers, 500, `Failed to generate report HTML, cause: ${(err as Error).message}`);
        }
      }
      case 'openscap.report_delete': {
        const report = await this.find(call);
        // smart_proxy_openscap: a missing file is "assumed deleted", 200 with no body.
        if (!report) return { status: 200, contentType: 'html', body: '' };
        await this.deps.store.deleteArfReport(report.id);
        return json(200, { id: call.params.id, deleted: true });
      }
      case 'openscap.spool_errors': {
        const counts = await this.deps.store.countArfReports();
        return json(200, { errors_count: counts.rejected });
      }
      default:
        return undefined;
    }
  }

  private async find(call: IncomingCall) {
    const date = Number(call.params.date);
    if (!/^\d+$/.test(call.params.id ?? '') || !Number.isInteger(date)) return undefined;
    return this.deps.store.findArfReport(call.params.id!, call.params.cname!, date, call.params.digest!);
  }

  private async upload(call: IncomingCall): Promise<ServiceAnswer> {
    const client = call.client;
    const cname = client?.https && client.hasCert ? client.certCn : null;
    if (!cname) return errorAnswer(call.headers, 403, 'Client authentication failed: Client certificate required!');
    const policyId = call.params.policy!;
    if (!/^\d+$/.test(policyId)) return errorAnswer(call.headers, 400, `policy id must be a number, got '${policyId}'`);
    if (call.body.length === 0) return errorAnswer(call.headers, 400, 'the report is empty');
    const now = Date.now();
    let id: number;
    try {
      id = await this.deps.store.addArfReport({ cname, policyId, date: Math.floor(now / 1000), digest: arfDigest(call.body), body: call.body }, now);
    } catch (err) {
      return errorAnswer(call.headers, 500, `the report could not be stored: ${(err as Error).message}`);
    }
    // Foreman's answer when it comes at once, as the plugin gives it; otherwise the spool sends it.
    const sent = await this.send(id);
    return sent ?? json(200, { result: 'Report stored in the spool of proxy-proxy; it is sent to Foreman as soon as Foreman answers' });
  }

  /** Posts the due reports, one scan at a time. */
  kick(): void {
    if (this.scanning || this.stopped) return;
    this.scanning = (async () => {
      try {
        for (;;) {
          const due = await this.deps.store.dueArfReports(Date.now(), BATCH);
          for (const r of due) if (!this.stopped) await this.send(r.id);
          if (due.length < BATCH || this.stopped) break;
        }
      } catch (err) {
        this.deps.logger.error(`openscap: spool scan failed: ${(err as Error).message}`);
      } finally {
        this.scanning = undefined;
      }
    })();
  }

  /** One report to Foreman; Foreman's JSON answer when it took it, else undefined. */
  private async send(id: number): Promise<ServiceAnswer | undefined> {
    const { store, logger } = this.deps;
    if (!(await store.claimArfReport(id, Date.now()))) return undefined;
    const report = (await store.arfReport(id))!;
    const cfg = this.deps.config();
    const what = `report of ${report.cname} for policy ${report.policyId}`;
    let body: string;
    try {
      const parsed = await parseArf(report.body);
      body = JSON.stringify({ ...parsed, openscap_proxy_name: cfg.registered_name ?? null, openscap_proxy_url: cfg.registered_url ?? null });
    } catch (err) {
      const message = err instanceof ArfUnreadable ? err.message : `Failed to parse Arf Report: ${(err as Error).message}`;
      logger.error(`openscap: ${what}: ${message}; kept, not sent`);
      await store.settleArfReport(id, { state: 'rejected', error: message });
      return json(200, { result: `${message} on proxy` });
    }
    const path = `/api/v2/compliance/arf_reports/${encodeURIComponent(report.cname)}/${encodeURIComponent(report.policyId)}/${report.date}`;
    const retry = (error: string) => store.settleArfReport(id, { state: 'queued', error, nextAttemptAt: Date.now() + Math.min(1_000 * 2 ** Math.min(report.attempts, 9), 600_000) });
    try {
      const res = await request(new URL(path, cfg.foreman_url).toString(), {
        method: 'POST',
        headers: { accept: 'application/json,version=2', 'content-type': 'application/json' },
        body,
        dispatcher: this.dispatcher(cfg),
        headersTimeout: FOREMAN_TIMEOUT_MS,
        bodyTimeout: FOREMAN_TIMEOUT_MS,
      });
      const text = await res.body.text();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        const foremanId = (JSON.parse(text) as { id?: unknown }).id;
        await store.settleArfReport(id, { state: 'sent', foremanId: String(foremanId) });
        logger.info(`openscap: ${what} posted to Foreman as report ${String(foremanId)}`);
        return { status: 200, contentType: 'json', body: text };
      }
      if (res.statusCode >= 400 && res.statusCode < 500) {
        // 422: Foreman refused it for good (unknown host or policy); the plugin drops it.
        logger.error(`openscap: Foreman refused the ${what}: ${res.statusCode} ${text.slice(0, 200)}`);
        await store.settleArfReport(id, { state: 'rejected', error: `HTTP ${res.statusCode}: ${text.slice(0, 500)}` });
        return json(200, { result: `Foreman refused the report: ${text.slice(0, 500)}` });
      }
      await retry(`HTTP ${res.statusCode}`);
      return undefined;
    } catch (err) {
      const failure = classifyCallError('foreman', err);
      if (failure.surelyNotSent) {
        await retry(failure.message);
        return undefined;
      }
      logger.error(`openscap: ${what}: Foreman did not answer (${failure.message}); not posted again, it may have arrived`);
      await store.settleArfReport(id, { state: 'unknown', error: failure.message });
      return undefined;
    }
  }

  private dispatcher(cfg: Config): Agent {
    if (!this.agent) {
      const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
      this.agent = new Agent({ connect: { ca: read(cfg.ssl_ca_file), cert: read(cfg.ssl_certificate), key: read(cfg.ssl_private_key) } });
    }
    return this.agent;
  }
}
