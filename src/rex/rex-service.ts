// The remote-execution spool, wired: the job store, the MQTT link (to the embedded broker or an
// external one), the doorbell publisher, the callback sender and the one scheduler over all
// deadlines. Its dynflow and script services answer the routes of features/dynflow.ts (Foreman)
// and features/script.ts (hosts), reached through the shared router like every feature.
import { readFileSync } from 'node:fs';
import type { Config, RexConfig, TlsFiles } from '../config/types.js';
import type { Logger } from '../ops/logger.js';
import { isStateUnavailable } from '../state/unavailable.js';
import { EXECUTING_STATES, PICKUP_STATES, type DeadlineKind, type DueDeadline, type JobChanges, type JobStore } from '../state/job-store.js';
import { openJobStore } from '../state/open-job-store.js';
import type { SharedSpool } from '../state/postgresql/open-spool.js';
import { Callbacks } from './callbacks.js';
import { Deadlines } from './deadlines.js';
import { Doorbell } from './doorbell.js';
import { dynflowRoute, type DynflowContext } from './dynflow-api.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { GroupCommit } from './group-commit.js';
import { hostRoute, type HostContext } from './host-api.js';
import { cancelEffect, MESSAGES } from './job-state.js';
import { MqttLink, type LinkOptions } from './mqtt-link.js';
import type { ModuleService } from '../features/route.js';
import { RexStats } from './rex-stats.js';

/** Jobs whose deadlines are handled per tick; more come back at once. */
const PER_TICK = 500;

type Fired = { kind: DeadlineKind; outcome: 'finished' | 'stopping' | 'none' };

export class RexService {
  readonly store: JobStore;
  private readonly commits: GroupCommit;
  private readonly callbacks: Callbacks;
  private readonly deadlines: Deadlines;
  private readonly publicKey: string;
  private broker: EmbeddedBroker | undefined;
  private link: MqttLink | undefined;
  private doorbell: Doorbell | undefined;
  private active = false;
  private lastTakeOver = 0;
  private startedAt = 0;
  /** markOrphans and releaseCallbacks of the start have run (see resume). */
  private resumed = false;
  private schedulerProblem = '';
  private listening: { stop(): Promise<void> } | undefined;
  private readonly dynflowContext: DynflowContext;
  private readonly hostContext: HostContext;
  readonly stats = new RexStats();

  constructor(
    private readonly config: () => Config,
    private readonly logger: Logger,
    /** A spool shared with other instances (state driver postgresql); default: the state file's. */
    private readonly shared?: SharedSpool,
  ) {
    const cfg = config();
    if (!cfg.foreman_url) throw new Error('rex.enabled needs foreman_url');
    this.publicKey = cfg.rex.ssh_public_key_file ? readFileSync(cfg.rex.ssh_public_key_file, 'utf8') : '';
    this.store = shared?.store ?? openJobStore(cfg.state_dir);
    this.commits = new GroupCommit(this.store, this.stats);
    this.callbacks = new Callbacks(this.store, cfg.foreman_url, () => this.rex.callback, logger);
    this.deadlines = new Deadlines(
      (now) => this.tick(now),
      (err) => {
        // Once per distinct problem: a database down for an hour is one line, not one a second.
        if (err.message !== this.schedulerProblem) logger.error(`remote execution scheduler: ${err.message}`);
        this.schedulerProblem = err.message;
      },
    );
    this.dynflowContext = {
      store: this.store,
      commits: this.commits,
      limits: () => {
        const rex = this.rex;
        return {
          maxScriptBytes: rex.max_script_bytes,
          timeToPickup: rex.time_to_pickup,
          executionTimeout: rex.execution_timeout_interval,
          ...(rex.proxy_url === undefined ? {} : { proxyUrl: rex.proxy_url }),
        };
      },
      launched: (count, existing) => {
        if (existing.length > 0) this.logger.warn(`launch: ${existing.length} task id(s) already known, left as they are: ${existing.slice(0, 5).join(', ')}`);
        if (count > 0) this.doorbell?.kick();
      },
      cancel: (taskId) => this.cancel(taskId),
    };
    this.hostContext = {
      store: this.store,
      commits: this.commits,
      maxOutputBytes: () => this.rex.max_output_bytes,
      publicKey: () => this.publicKey,
      finished: () => this.jobsFinished(),
    };
  }

  private get rex(): RexConfig {
    return this.config().rex;
  }

  /** The embedded broker, when there is one (tests read its port). */
  get embeddedBroker(): EmbeddedBroker | undefined {
    return this.broker;
  }

  get mqttConnected(): boolean {
    return this.link?.connected === true;
  }

  async start(): Promise<void> {
    const rex = this.rex;
    const files = readTls(rex.mqtt);
    let link: LinkOptions;
    if (rex.mqtt.broker === 'embedded') {
      const tls = files.cert && files.key && files.ca ? { cert: files.cert, key: files.key, ca: files.ca } : undefined;
      this.broker = await EmbeddedBroker.start({ bind: rex.mqtt.embedded_bind, port: rex.mqtt.embedded_port, tls }, this.logger);
      // Our own listener on loopback: its certificate names the proxy, not 127.0.0.1.
      link = { url: this.broker.url, ...this.broker.publisher, tls: tls && { ...tls, checkServerIdentity: () => undefined } };
    } else {
      link = { url: rex.mqtt.broker, tls: files };
    }
    this.link = new MqttLink(link, this.logger);
    const doorbell = new Doorbell(this.store, this.link, () => this.doorbellSettings(), this.logger, this.stats);
    this.doorbell = doorbell;
    this.link.onConnect(() => doorbell.kick());
    this.link.start();
    this.startedAt = Date.now();
    // With the state database away at start the spool resumes once it is back (the scheduler
    // tries on every round); until then launches are refused and hosts are told to come back.
    await this.resume().catch((err: Error) => {
      if (!isStateUnavailable(err)) throw err;
      this.logger.warn(`remote execution: ${err.message}; launches are refused (503) until it is back, and the spool resumes then`);
    });
    this.active = true;
    this.deadlines.start();
    // Another instance launched, finished or stopped a job: act now rather than on the next round.
    this.listening = this.shared?.listen(
      (event) => {
        if (event === 'finished') this.callbacks.kick();
        this.doorbell?.kick();
      },
      (message) => this.logger.warn(`remote execution: ${message}`),
    );
    this.callbacks.kick(0);
    const open = await this.store.countJobs('unfinished').then(String, () => 'not yet known:');
    this.logger.info(`remote execution: pull-mqtt spool ready (${open} unfinished job(s)), doorbells via ${rex.mqtt.broker === 'embedded' ? this.broker!.url : rex.mqtt.broker}`);
  }

  /** What a start owes the spool before anything else: once, at start or as soon as the spool is reachable. */
  private async resume(): Promise<void> {
    const rex = this.rex;
    // Jobs a host was running when the last process ended: their exit may have been posted
    // while nothing listened. They stop holding rate-limit slots now, and end after
    // lost_report_timeout unless their host reports first (docs/remote-execution.md).
    const orphaned = await this.store.markOrphans(this.startedAt, rex.lost_report_timeout * 1000);
    if (orphaned > 0) {
      this.logger.warn(
        `remote execution: ${orphaned} job(s) were running when proxy-proxy stopped; each ends with EXCEPTION unless its host reports within ${rex.lost_report_timeout} s`,
      );
    }
    // Callbacks owed from before a restart go out now, including those a killed process had
    // leased for a POST it never finished.
    const owed = await this.store.releaseCallbacks(Date.now());
    if (owed > 0) this.logger.info(`remote execution: ${owed} result(s) owed to Foreman from before the restart`);
    this.resumed = true;
    this.callbacks.kick(0);
  }

  /**
   * Stops after the listeners closed: what requests changed is committed, POSTs to Foreman in
   * flight get up to `timeoutMs`, and everything not done is in the store for the next start.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.active = false;
    this.deadlines.stop();
    await this.commits.drain();
    await this.doorbell?.idle(Math.min(timeoutMs, 2000));
    await this.callbacks.stop(Math.min(timeoutMs, 5000));
    await this.listening?.stop();
    await this.link?.stop();
    await this.broker?.close();
    await this.commits.drain();
    await this.store.close();
  }

  /** The dynflow routes for the operations the spool hosts (features/dynflow.ts). */
  readonly dynflow: ModuleService = {
    // Every /dynflow body may carry scripts (launch) or many task ids.
    bodyLimit: () => this.rex.max_launch_bytes,
    serve: async (route, call) => (this.active ? dynflowRoute(route.name, call, this.dynflowContext) : undefined),
  };

  /** The host routes and keys (features/script.ts). */
  readonly script: ModuleService = {
    serve: async (route, call) => (this.active ? hostRoute(route.name, call, this.hostContext) : undefined),
  };

  private async cancel(taskId: string): Promise<number | undefined> {
    if (!(await this.store.task(taskId))) return (await this.store.parent(taskId)) ? 0 : undefined;
    const grace = this.rex.cancel_grace;
    // Decided and applied in one step: the host may fetch the job while this request waits.
    const outcome = await this.commits.run(async (tx) => {
      const now = Date.now();
      const job = await tx.task(taskId);
      if (!job) return 'none';
      const effect = cancelEffect(job);
      if (effect === 'finish') return (await tx.finish(taskId, 'EXCEPTION', [MESSAGES.cancelled], now, PICKUP_STATES)) ? 'finished' : 'none';
      if (effect === 'stop') return (await tx.requestStop(taskId, MESSAGES.cancelled + MESSAGES.notifyingHost, now + grace * 1000, now)) ? 'stopping' : 'none';
      return job.state === 'finished' ? 'done' : 'stopping';
    }, false);
    if (outcome === 'finished') this.jobsFinished();
    if (outcome === 'stopping') this.doorbell?.kick();
    return outcome === 'done' || outcome === 'none' ? 0 : 1;
  }

  private jobsFinished(): void {
    this.callbacks.kick();
    // A finished job frees its rate-limit slot.
    this.doorbell?.kick();
  }

  private doorbellSettings() {
    const mqtt = this.rex.mqtt;
    return { rateLimit: mqtt.rate_limit, ttlMs: mqtt.ttl * 1000, resendMs: mqtt.resend_interval * 1000, silentSlotMs: mqtt.silent_slot_timeout * 1000 };
  }

  /** The scheduler's round: what gone instances left, deadlines, then doorbells and callbacks due. */
  private async tick(now: number): Promise<{ next: number | undefined; more: boolean }> {
    if (!this.resumed) await this.resume();
    if (now - this.lastTakeOver >= this.config().state.takeover_interval_ms) {
      this.lastTakeOver = now;
      await this.takeOver(now);
    }
    let claimed = 0;
    // All of this tick's deadlines in one transaction, claimed in it: on a shared spool a peer
    // handling the same moment gets other jobs, so each deadline fires once in the cluster.
    const results = await this.store.transactPlanned<Fired[]>(async (tx) => {
      const due = await tx.claimDeadlines(now, PER_TICK);
      claimed = due.length;
      return due.map((d) => (t: JobChanges) => this.fire(t, d, now));
    }, false);
    let finished = false;
    for (const r of results) {
      if (!r.ok) {
        this.logger.error(`remote execution deadline: ${r.error.message}`);
        continue;
      }
      for (const f of r.value) {
        if (f.outcome === 'none') continue;
        if (f.outcome === 'finished') finished = true;
        if (f.kind === 'pickup') this.stats.pickupTimeouts++;
        if (f.kind === 'execution') this.stats.executionTimeouts++;
        if (f.kind === 'orphan') this.stats.lostReports++;
      }
    }
    if (finished) this.callbacks.kick();
    this.doorbell?.kick();
    this.callbacks.kick();
    // Finished jobs past rex.retention are pruned by the daemon's retention clean-up (state/retention.ts), on the leader.
    const next = await this.store.nextDue();
    if (this.schedulerProblem) this.logger.info('remote execution scheduler: the spool is reachable again');
    this.schedulerProblem = '';
    return { next, more: claimed === PER_TICK };
  }

  /** A shared spool: what instances whose lease expired left becomes this one's to finish. */
  private async takeOver(now: number): Promise<void> {
    const timeout = this.rex.lost_report_timeout;
    const t = await this.store.takeOver(now, timeout * 1000);
    if (t.orphaned > 0) {
      this.logger.warn(
        `remote execution: ${t.orphaned} running job(s) were served by an instance that is gone (lease expired); each ends with EXCEPTION unless its host reports within ${timeout} s`,
      );
    }
    if (t.callbacks > 0) this.logger.warn(`remote execution: ${t.callbacks} result(s) owed to Foreman by an instance that is gone are sent from here`);
    if (t.doorbells > 0) this.logger.info(`remote execution: ${t.doorbells} doorbell(s) claimed by an instance that is gone are rung again`);
    if (t.callbacks > 0) this.callbacks.kick(0);
    if (t.doorbells > 0) this.doorbell?.kick();
  }

  /** A job's due deadlines, in order; once one ended or stopped it, the later ones find nothing to do. */
  private async fire(tx: JobChanges, due: DueDeadline, now: number): Promise<Fired[]> {
    const grace = this.rex.cancel_grace;
    const out: Fired[] = [];
    for (const kind of due.kinds) {
      const id = due.taskId;
      let outcome: Fired['outcome'];
      if (kind === 'pickup') outcome = (await tx.finish(id, 'EXCEPTION', [MESSAGES.notPickedUp], now, PICKUP_STATES)) ? 'finished' : 'none';
      else if (kind === 'execution') outcome = await this.executionTimeout(tx, id, now, grace);
      else if (kind === 'kill') outcome = (await tx.finish(id, 'EXCEPTION', [MESSAGES.noExit(grace)], now, EXECUTING_STATES)) ? 'finished' : 'none';
      else outcome = await this.endOrphan(tx, id, now);
      out.push({ kind, outcome });
    }
    return out;
  }

  private async endOrphan(tx: JobChanges, taskId: string, now: number): Promise<'finished' | 'none'> {
    const job = await tx.task(taskId);
    if (!job || job.orphanSince === null || job.orphanDue === null) return 'none';
    const line = MESSAGES.noReportSinceRestart(job.orphanSince, (job.orphanDue - job.orphanSince) / 1000);
    return (await tx.endOrphan(taskId, line, now)) ? 'finished' : 'none';
  }

  /** Not fetched yet: it ends now. Fetched: the host is asked to stop and gets cancel_grace. */
  private async executionTimeout(tx: JobChanges, taskId: string, now: number, grace: number): Promise<'finished' | 'stopping' | 'none'> {
    const job = await tx.task(taskId);
    if (!job) return 'none';
    if (PICKUP_STATES.includes(job.state)) return (await tx.finish(taskId, 'EXCEPTION', [MESSAGES.executionTimeout], now, PICKUP_STATES)) ? 'finished' : 'none';
    return (await tx.requestStop(taskId, MESSAGES.executionTimeout + MESSAGES.notifyingHost, now + grace * 1000, now)) ? 'stopping' : 'none';
  }
}

function readTls(files: TlsFiles): { cert?: Buffer; key?: Buffer; ca?: Buffer } {
  const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
  const out: { cert?: Buffer; key?: Buffer; ca?: Buffer } = {};
  const cert = read(files.ssl_certificate);
  const key = read(files.ssl_private_key);
  const ca = read(files.ssl_ca_file);
  if (cert) out.cert = cert;
  if (key) out.key = key;
  if (ca) out.ca = ca;
  return out;
}
