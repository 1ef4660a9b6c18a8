// Results to Foreman (docs/protocol/rex-pull.md §1.4): finished jobs are coalesced into
// {"callbacks":[{"callback":…,"data":<PullScript output>}, …]} POSTs to
// <foreman_url>/foreman_tasks/api/tasks/callback, and a job counts as reported only once Foreman
// answered 200. A POST in flight holds its jobs by a lease in the store, so a crash mid-POST
// sends them again after a restart (Foreman ignores repeats: its events are unique per output).
// Failures back off per job, from retry.base_ms to retry.max_ms, and are retried forever:
// Foreman's own poll of /dynflow/tasks/status is the other way the result can reach it.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import type { RexCallbackConfig } from '../config/types.js';
import type { DueCallback, JobStore } from '../state/job-store.js';
import type { Logger } from '../ops/logger.js';
import { pullScriptOutput } from './plan-hash.js';

export const CALLBACK_PATH = 'foreman_tasks/api/tasks/callback';
/** A lease outlives the POST's own timeout by this much. */
const LEASE_MARGIN_MS = 5000;

export class Callbacks {
  private readonly url: string;
  private readonly agent: Agent;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  /** A flush reads the store over several promise turns: one at a time, another round if asked meanwhile. */
  private flushing = false;
  private flushAgain: boolean | undefined;
  private stopped = false;
  private lastFailure = '';

  constructor(
    private readonly store: JobStore,
    foremanUrl: string,
    private readonly settings: () => RexCallbackConfig,
    private readonly logger: Logger,
  ) {
    // foreman_url may carry a sub-path (Foreman under /foreman): keep it.
    this.url = new URL(CALLBACK_PATH, foremanUrl.endsWith('/') ? foremanUrl : `${foremanUrl}/`).toString();
    const s = settings();
    const read = (file: string | undefined) => (file === undefined ? undefined : readFileSync(file));
    this.agent = new Agent({
      connect: { cert: read(s.ssl_certificate), key: read(s.ssl_private_key), ca: read(s.ssl_ca_file), rejectUnauthorized: true },
      connections: 16,
      keepAliveTimeout: 30_000,
    });
  }

  /** A job finished: send within batch_interval_ms, together with whatever else finishes by then. */
  kick(delayMs = this.settings().batch_interval_ms): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush(true);
    }, delayMs);
  }

  /** No new POSTs; waits up to timeoutMs for those in flight (their leases cover the rest). */
  async stop(timeoutMs: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const until = Date.now() + timeoutMs;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    await this.agent.destroy().catch(() => undefined);
  }

  /**
   * Sends what is due, as far as concurrency allows. `partial`: the batch window has passed, so
   * a batch short of batch_size goes too; otherwise only full batches go and the rest waits for
   * the window (a POST finishing does not send the one result that came in meanwhile alone).
   */
  private async flush(partial: boolean): Promise<void> {
    if (this.flushing) {
      this.flushAgain = (this.flushAgain ?? false) || partial;
      return;
    }
    this.flushing = true;
    try {
      await this.sendDue(partial);
    } catch (err) {
      if (!this.stopped) this.logger.error(`callbacks: ${(err as Error).message}`);
      // The store is unreachable for now: the scheduler kicks again on its next round.
    } finally {
      this.flushing = false;
      const again = this.flushAgain;
      this.flushAgain = undefined;
      if (again !== undefined && !this.stopped) void this.flush(again);
    }
  }

  private async sendDue(partial: boolean): Promise<void> {
    const s = this.settings();
    while (!this.stopped && this.inFlight < s.concurrency) {
      const now = Date.now();
      const due = await this.store.dueCallbacks(now, s.batch_size);
      if (due.length === 0) return;
      if (!partial && due.length < s.batch_size) {
        this.kick();
        return;
      }
      const entries: { taskId: string; json: string }[] = [];
      const chosen: DueCallback[] = [];
      let bytes = 0;
      const bodies = await this.store.jobsWithOutput(due.map((d) => d.taskId));
      for (const d of due) {
        const found = bodies.get(d.taskId);
        if (!found) continue;
        const entry = JSON.stringify({ callback: d.callback, data: pullScriptOutput(found.job, found.output) });
        // A job larger than the budget still goes, alone.
        if (chosen.length > 0 && bytes + entry.length > s.max_body_bytes) break;
        entries.push({ taskId: d.taskId, json: entry });
        chosen.push(d);
        bytes += entry.length;
      }
      if (chosen.length === 0) return;
      // A claim: another instance may have taken some of these since they were read.
      const leased = new Set(
        await this.store.leaseCallbacks(
          chosen.map((t) => t.taskId),
          now,
          now + s.timeout_ms + LEASE_MARGIN_MS,
        ),
      );
      const taken = chosen.filter((t) => leased.has(t.taskId));
      if (taken.length === 0) continue;
      const body = entries.filter((e) => leased.has(e.taskId)).map((e) => e.json);
      this.inFlight += 1;
      void this.post(`{"callbacks":[${body.join(',')}]}`, taken, s).finally(() => {
        this.inFlight -= 1;
        if (!this.stopped) void this.flush(false);
      });
    }
  }

  private async post(body: string, taken: DueCallback[], s: RexCallbackConfig): Promise<void> {
    let problem: string | undefined;
    try {
      const res = await request(this.url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', accept: 'application/json,version=2' },
        dispatcher: this.agent,
        headersTimeout: s.timeout_ms,
        bodyTimeout: s.timeout_ms,
      });
      await res.body.dump();
      if (res.statusCode !== 200) problem = `Foreman answered ${res.statusCode}`;
    } catch (err) {
      problem = (err as Error).message;
    }
    const now = Date.now();
    try {
      if (problem === undefined) {
        await this.store.callbacksDelivered(
          taken.map((t) => t.taskId),
          now,
        );
        if (this.lastFailure) this.logger.info(`callbacks: Foreman accepts results again (${this.url})`);
        this.lastFailure = '';
        return;
      }
      const retries = taken.map((t) => ({ taskId: t.taskId, retryAt: now + backoff(t.attempts, s) }));
      await this.store.callbacksFailed(retries, problem, now);
      if (problem !== this.lastFailure) this.logger.warn(`callbacks: ${taken.length} result(s) not accepted by ${this.url}: ${problem}; retrying with back-off`);
      this.lastFailure = problem;
    } catch (err) {
      // The store closed under us (stop): the leases bring these back after a restart.
      if (!this.stopped) this.logger.error(`callbacks: ${(err as Error).message}`);
    }
  }
}

/** base_ms × 2^attempts, at most max_ms, ±20 % so that retries of many jobs spread out. */
export function backoff(attempts: number, s: Pick<RexCallbackConfig, 'retry'>): number {
  const wait = Math.min(s.retry.max_ms, s.retry.base_ms * 2 ** Math.min(attempts, 30));
  return Math.round(wait * (0.8 + Math.random() * 0.4));
}
