// One simulated host: yggd's handling of a data message (docs/protocol/rex-pull.md §4.1) in front
// of its foreman_ygg_worker. The host's HTTPS identity is its own certificate (one undici Agent per
// host, keep-alive), whatever broker connection delivered the message.
import { Agent, request } from 'undici';
import { parseDataMessage, rewriteDataHost, type DataMessage } from './messages.js';
import type { YggdVersion } from './options.js';
import { encodeV1, type V1Update } from './updates.js';
import { ForemanWorker, type WorkerContext } from './worker.js';

export const USER_AGENT = 'yggd/0.4 (proxy-proxy sim-host)';

export interface HostContext extends Omit<WorkerContext, 'host' | 'post'> {
  ca?: Buffer;
  dataHost?: string;
  yggd: YggdVersion;
  httpTimeoutMs: number;
}

export class SimHost {
  readonly topic: string;
  private readonly agent: Agent;
  private readonly worker: ForemanWorker;

  constructor(
    readonly name: string,
    cert: Buffer,
    key: Buffer,
    private readonly ctx: HostContext,
  ) {
    this.topic = `yggdrasil/${name}/data/in`;
    this.agent = new Agent({
      connect: { ca: ctx.ca, cert, key, rejectUnauthorized: true },
      keepAliveTimeout: 30_000,
      headersTimeout: ctx.httpTimeoutMs,
      bodyTimeout: ctx.httpTimeoutMs,
    });
    this.worker = new ForemanWorker({ ...ctx, host: name, post: (url, job, updates) => this.post(url, job, updates) });
  }

  /** A payload arrived on this host's data/in topic; yggd handles each in its own goroutine. */
  onMessage(payload: Buffer): void {
    this.handle(payload).catch((err: Error) => this.ctx.events({ event: 'error', host: this.name, message: err.message }));
  }

  async close(): Promise<void> {
    await this.agent.destroy().catch(() => undefined);
  }

  private async handle(payload: Buffer): Promise<void> {
    const { events } = this.ctx;
    const parsed = parseDataMessage(payload);
    if (!parsed.ok) {
      events({ event: 'rejected', host: this.name, reason: parsed.reason });
      return;
    }
    const msg = parsed.message;
    const kind = msg.metadata.event ?? 'start';
    const job = msg.metadata.job_uuid;
    events({ event: 'doorbell', host: this.name, job, kind, messageId: msg.messageId });

    // yggd fetches the content URL of every message for a detached worker, cancel included.
    const url = rewriteDataHost(msg.content, this.ctx.dataHost);
    let status: number;
    let body: Buffer;
    let effectiveUser: string | undefined;
    try {
      const res = await request(url, { method: 'GET', dispatcher: this.agent, headers: { 'user-agent': USER_AGENT } });
      status = res.statusCode;
      body = Buffer.from(await res.body.arrayBuffer());
      const header = res.headers['x-foreman-effective-user'];
      effectiveUser = Array.isArray(header) ? header[0] : header;
    } catch (err) {
      events({ event: 'ignored', host: this.name, job, kind, reason: `fetch failed: ${(err as Error).message}` });
      return;
    }
    events({ event: 'fetched', host: this.name, job, kind, status, bytes: body.length, effectiveUser });
    const drop = this.dropReason(kind, status, body);
    if (drop) {
      events({ event: 'ignored', host: this.name, job, kind, reason: drop });
      return;
    }
    this.dispatch(kind, msg, body);
  }

  /**
   * yggd 0.2 drops answers >= 400; 0.4 checks no status and hands any body to the worker. An
   * empty non-200 answer is dropped in both (the sim's choice: there is no script to run).
   */
  private dropReason(kind: string, status: number, body: Buffer): string | undefined {
    if (this.ctx.yggd === '0.2' && status >= 400) return `status ${status} (yggd 0.2 drops >= 400)`;
    if (kind === 'start' && status !== 200 && body.length === 0) return `status ${status} with an empty body`;
    return undefined;
  }

  private dispatch(kind: string, msg: DataMessage, body: Buffer): void {
    if (kind === 'start') this.worker.start(msg, body);
    else if (kind === 'cancel') this.worker.cancel(msg);
    else this.ctx.events({ event: 'ignored', host: this.name, job: msg.metadata.job_uuid, reason: `unknown event ${kind}` });
  }

  /** yggd's Transmit: POST the worker's bytes to the return URL; the status is only logged. */
  private async post(returnUrl: string, job: string, updates: V1Update[]): Promise<void> {
    if (this.ctx.stopping()) return;
    const exit = updates.some((u) => u.type === 'exit');
    const fields = { host: this.name, job, updates: updates.length, exit };
    if (returnUrl === '') {
      this.ctx.events({ event: 'posted', ...fields, error: 'no return_url in the metadata' });
      return;
    }
    try {
      const res = await request(rewriteDataHost(returnUrl, this.ctx.dataHost), {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: encodeV1(updates),
      });
      await res.body.dump();
      this.ctx.events({ event: 'posted', ...fields, status: res.statusCode });
    } catch (err) {
      // No retry: the worker logs the failure and the batch is gone.
      this.ctx.events({ event: 'posted', ...fields, error: (err as Error).message });
    }
  }
}
