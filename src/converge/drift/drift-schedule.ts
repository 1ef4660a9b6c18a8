// Runs the drift check inside the daemon: on the config's node-cron schedule (drift.schedule,
// repairing when drift.repair), and on demand for the runtime API. Runs never overlap: an API
// call waits for the run in progress, a scheduled tick that finds one running is skipped.
// Every run is logged: one line per difference and per repair, then a summary. In a cluster the
// schedule is the cluster's, not each instance's: only the leader runs it (state/leadership.ts).
import cron, { type ScheduledTask } from 'node-cron';
import type { DriftConfig } from '../../config/types.js';
import type { Logger } from '../../ops/logger.js';
import { runDrift, type DriftContext, type DriftOptions } from './drift-check.js';
import { driftLogLines, type DriftReport } from './drift-report.js';

export interface DriftHost extends DriftContext {
  readonly logger: Logger;
  /** Scheduled runs happen where this leads (absent: always). */
  readonly leadership?: { readonly isLeader: boolean };
}

export class DriftScheduler {
  private task: ScheduledTask | undefined;
  /** The schedule in force (undefined before the first configure). */
  private applied: string | null | undefined;
  private repair = false;
  private running: Promise<DriftReport> | undefined;
  private readonly stopping = new AbortController();
  /** The last finished run, whatever started it. */
  lastReport: DriftReport | undefined;

  constructor(private readonly host: DriftHost) {}

  /** Applies config.drift at start and on reload; the cron task is replaced only when the schedule changed. */
  configure(cfg: DriftConfig): void {
    this.repair = cfg.repair;
    if (cfg.schedule === this.applied) return;
    void this.task?.destroy();
    this.task = undefined;
    this.applied = cfg.schedule;
    if (cfg.schedule === null || this.stopping.signal.aborted) return;
    const log = this.host.logger;
    this.task = cron.schedule(cfg.schedule, () => this.tick(), {
      name: 'proxy-proxy drift check',
      noOverlap: true,
      logger: {
        info: (m) => log.debug(`drift schedule: ${m}`),
        debug: (m) => log.debug(`drift schedule: ${String(m)}`),
        warn: (m) => log.warn(`drift schedule: ${m}`),
        error: (m) => log.error(`drift schedule: ${String(m)}`),
      },
    });
    log.info(`drift check scheduled: '${cfg.schedule}'${cfg.repair ? ', repairing' : ', report only'}`);
  }

  /** A run on demand: waits for the run in progress (if any), then runs. */
  run(opts: DriftOptions, origin: string): Promise<DriftReport> {
    const next = (this.running ?? Promise.resolve()).catch(() => undefined).then(() => this.execute(opts, origin));
    this.running = next;
    const clear = () => {
      if (this.running === next) this.running = undefined;
    };
    next.then(clear, clear);
    return next;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  private async tick(): Promise<void> {
    if (this.host.leadership && !this.host.leadership.isLeader) {
      this.host.logger.debug('drift schedule: another instance leads the cluster and runs it');
      return;
    }
    if (this.running) {
      this.host.logger.debug('drift schedule: a check is still running, this one is skipped');
      return;
    }
    try {
      await this.run({ repair: this.repair }, 'schedule');
    } catch (err) {
      this.host.logger.error(`drift check (schedule) failed: ${(err as Error).stack ?? String(err)}`);
    }
  }

  private async execute(opts: DriftOptions, origin: string): Promise<DriftReport> {
    const report = await runDrift(this.host, { ...opts, signal: this.stopping.signal });
    for (const line of driftLogLines(report, origin)) this.host.logger.log(line.level, line.message, line.meta);
    this.lastReport = report;
    return report;
  }

  /** Stops the schedule and cuts a run in progress short (it reports what it could not read). */
  async stop(): Promise<void> {
    void this.task?.destroy();
    this.task = undefined;
    this.stopping.abort();
    await this.running?.catch(() => undefined);
  }
}
