// One dedicated connection LISTENing on one channel (a pooled connection would be handed to
// others), reconnecting by itself with a growing pause. Notifications are a shortcut, not the
// record: after every (re)connection `onConnected` runs, so that a listener that missed some
// re-reads what they would have told it.
import pg from 'pg';

export class ChannelListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    /** A plain identifier (LISTEN takes no parameter). */
    readonly channel: string,
    private readonly handlers: {
      onNotify: (payload: string) => void;
      onConnected: () => void;
      onProblem?: (message: string) => void;
      /** Names the listener in problem messages (default: '<channel> notifications'). */
      label?: string;
    },
  ) {
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a plain channel name: ${channel}`);
  }

  private get label(): string {
    return this.handlers.label ?? `${this.channel} notifications`;
  }

  start(): this {
    this.stopped = false;
    void this.open();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.config);
    this.client = client;
    client.on('notification', (n) => {
      if (n.channel === this.channel) this.handlers.onNotify(n.payload ?? '');
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      if (this.failures > 0) this.handlers.onProblem?.(`${this.label}: listening again`);
      this.failures = 0;
      this.handlers.onConnected();
    } catch (err) {
      this.lost(client, err as Error);
    }
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (this.failures === 0) this.handlers.onProblem?.(`${this.label}: ${err.message}; reconnecting`);
    const wait = Math.min(10_000, 250 * 2 ** Math.min(this.failures, 10));
    this.failures += 1;
    this.timer = setTimeout(() => void this.open(), wait);
    this.timer.unref();
  }
}
