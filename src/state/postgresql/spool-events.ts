// What one instance tells the others about the shared spool, by LISTEN/NOTIFY on one channel:
// a launch (ring its doorbells now), a finished job (its callback is owed, its rate-limit slot
// free), a stop (publish the MQTT cancel). Notifications are a shortcut, not the record: an
// instance that missed one (reconnecting) finds the same work on its next scheduler round.
import pg from 'pg';

export const SPOOL_CHANNEL = 'proxy_proxy_rex';
export type SpoolEvent = 'launched' | 'finished' | 'stopping';
const EVENTS: readonly string[] = ['launched', 'finished', 'stopping'];

/** One dedicated connection LISTENing (a pooled one would be handed to others); reconnects by itself. */
export class SpoolListener {
  private client: pg.Client | undefined;
  private stopped = false;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly onEvent: (event: SpoolEvent) => void,
    private readonly onProblem: (message: string) => void = () => undefined,
  ) {}

  start(): void {
    this.stopped = false;
    void this.open();
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
      if (n.channel === SPOOL_CHANNEL && n.payload && EVENTS.includes(n.payload)) this.onEvent(n.payload as SpoolEvent);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${SPOOL_CHANNEL}`);
      if (this.failures > 0) this.onProblem('spool notifications: listening again');
      this.failures = 0;
      // Whatever was announced while we were away: act as if everything happened.
      for (const e of EVENTS) this.onEvent(e as SpoolEvent);
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
    if (this.failures === 0) this.onProblem(`spool notifications: ${err.message}; reconnecting`);
    const wait = Math.min(10_000, 250 * 2 ** Math.min(this.failures, 10));
    this.failures += 1;
    this.timer = setTimeout(() => void this.open(), wait);
    this.timer.unref();
  }
}
