// The doorbell publisher (REX's MQTT dispatcher, docs/protocol/rex-pull.md §2.4) over the
// durable spool: jobs whose doorbell is due are rung oldest first, as far as rate_limit leaves
// room; a rung job holds a slot for ttl seconds unless fetched (then until it finishes, or until
// its host has been silent for silent_slot_timeout, or across a restart: see markOrphans); one not
// fetched is rung again resend_interval after the last doorbell (after the broker confirmed it,
// when the interval is shorter than the wait for an unconfirmed one). All of it
// lives in the store, so a restart resumes where it was, and while the broker is away nothing is
// taken off the queue. Cancel messages bypass the limit, as in REX.
import { randomBytes } from 'node:crypto';
import type { JobStore } from '../state/job-store.js';
import type { Logger } from '../ops/logger.js';
import { cancelMessage, dataTopic, startMessage } from './doorbell-message.js';
import type { MqttLink } from './mqtt-link.js';
import type { RexStats } from './rex-stats.js';

export interface DoorbellSettings {
  /** null: no limit. */
  rateLimit: number | null;
  ttlMs: number;
  resendMs: number;
  /** A fetched job whose host has been silent this long holds no slot (it may never report). */
  silentSlotMs: number;
}

/** Doorbells handed to the broker in one round; keeps one round's pause short. */
const ROUND = 1000;
/** A doorbell the broker refused (or that was cut off) goes out again this soon. */
const RETRY_AFTER_FAILURE_MS = 1000;
/** Published but never confirmed (a crash mid-round): rung again after this. */
const UNCONFIRMED_MS = 45_000;
/**
 * Rounds begin at least this far apart. Each round is a commit that rewrites the pages it
 * touched, whether it rings one job or a hundred; a host rung 100 ms later loses nothing.
 */
const ROUND_SPACING_MS = 100;

export class Doorbell {
  private kicked = false;
  private dispatching = false;
  private again = false;
  private lastRound = -Infinity;
  private lastFailure = '';

  constructor(
    private readonly store: JobStore,
    private readonly link: MqttLink,
    private readonly settings: () => DoorbellSettings,
    private readonly logger: Logger,
    private readonly stats?: RexStats,
  ) {}

  /**
   * Something may be due (a launch, a freed slot, a reconnect): dispatch soon, once, and at most
   * one round per ROUND_SPACING_MS, so that slots freed meanwhile are rung together.
   */
  kick(): void {
    if (this.kicked) return;
    this.kicked = true;
    const go = () => {
      this.kicked = false;
      void this.dispatch();
    };
    const wait = this.lastRound + ROUND_SPACING_MS - performance.now();
    if (wait > 0) setTimeout(go, wait).unref();
    else setImmediate(go);
  }

  /** Resolves when no round is in progress (for an orderly stop). */
  async idle(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.dispatching && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  private async dispatch(): Promise<void> {
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = true;
    this.again = false;
    this.lastRound = performance.now();
    try {
      await this.publishCancels();
      await this.ringDue();
    } catch (err) {
      this.logger.error(`doorbell: ${(err as Error).message}`);
    } finally {
      this.dispatching = false;
      // Kicked during the round: another one, spaced like any.
      if (this.again && this.link.connected) this.kick();
    }
  }

  private async ringDue(): Promise<void> {
    while (this.link.connected) {
      const now = Date.now();
      const s = this.settings();
      // A resend interval at least as long as the wait for an unconfirmed doorbell is set at once,
      // which spares a second write per doorbell; a shorter one is set once the broker confirmed.
      const resendNow = s.resendMs >= UNCONFIRMED_MS;
      // Counted and claimed in one step: with several instances on one spool, the limit holds
      // for all of them together, and a doorbell another rang meanwhile is not taken.
      const due = await this.store.claimDoorbells({
        now,
        limit: ROUND,
        rateLimit: s.rateLimit,
        silentBefore: now - s.silentSlotMs,
        slotUntil: now + s.ttlMs,
        retryAt: now + (resendNow ? s.resendMs : UNCONFIRMED_MS),
      });
      if (due.length === 0) return;
      const results = await Promise.allSettled(
        due.map((d) => this.link.publish(dataTopic(d.host), JSON.stringify(startMessage(d, randomBytes(8).toString('hex'), now)))),
      );
      const confirmed = due.filter((_, i) => results[i]!.status === 'fulfilled');
      const rung = confirmed.map((d) => d.taskId);
      if (this.stats) for (const d of confirmed) d.rung === 0 ? this.stats.doorbellsSent++ : this.stats.doorbellsResent++;
      const failed = due.filter((_, i) => results[i]!.status === 'rejected').map((d) => d.taskId);
      const after = Date.now();
      if (!resendNow) await this.store.rescheduleDoorbells(rung, after + s.resendMs);
      if (failed.length > 0) {
        await this.store.rescheduleDoorbells(failed, after + RETRY_AFTER_FAILURE_MS);
        const reason = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as Error;
        this.noteFailure(`doorbells not confirmed by the broker, retrying: ${reason.message}`);
        return;
      }
      this.lastFailure = '';
      if (due.length < ROUND) return;
    }
  }

  private async publishCancels(): Promise<void> {
    if (!this.link.connected) return;
    const due = await this.store.dueCancels(ROUND);
    if (due.length === 0) return;
    const now = Date.now();
    const results = await Promise.allSettled(due.map((d) => this.link.publish(dataTopic(d.host), JSON.stringify(cancelMessage(d, now)))));
    const sent = due.filter((_, i) => results[i]!.status === 'fulfilled').map((d) => d.taskId);
    if (this.stats) this.stats.cancelsSent += sent.length;
    await this.store.cancelsPublished(sent);
    if (sent.length < due.length) this.noteFailure('cancel messages not confirmed by the broker, retrying');
  }

  private noteFailure(message: string): void {
    if (message !== this.lastFailure) this.logger.warn(`doorbell: ${message}`);
    this.lastFailure = message;
  }
}
