// One long-lived MQTT connection for publishing doorbells (REX opens one per message:
// docs/protocol/rex-pull.md §2.3).
// When it drops, every publish waiting for its PUBACK is failed at once (the spool, not this
// link, keeps what still has to be sent) and a fresh client connects after a growing, jittered
// pause; a new client per attempt leaves no half-reset state behind.
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../ops/logger.js';

export interface LinkOptions {
  /** mqtt://host:port or mqtts://host:port */
  url: string;
  username?: string;
  password?: string;
  tls?: { cert?: Buffer; key?: Buffer; ca?: Buffer; checkServerIdentity?: () => undefined };
  /** Pause before the first reconnect attempt, doubled per failure up to maxBackoffMs. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  /** A publish without PUBACK this long is failed (and retried by the spool). */
  ackTimeoutMs?: number;
}

interface Pending {
  resolve(): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class MqttLink {
  private client: MqttClient | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private readonly pending = new Set<Pending>();
  private readonly connectListeners: (() => void)[] = [];
  private lastError = '';

  constructor(
    private readonly options: LinkOptions,
    private readonly logger: Logger,
  ) {}

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /** Called on every (re)connection: queued work can go out now. */
  onConnect(listener: () => void): void {
    this.connectListeners.push(listener);
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Resolves on PUBACK (QoS 1); rejects when not connected, on a drop, or after ackTimeoutMs. */
  publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (!client || !client.connected) return Promise.reject(new Error('MQTT broker not connected'));
    return new Promise<void>((resolve, reject) => {
      const entry: Pending = {
        resolve: () => settle(() => resolve()),
        reject: (err) => settle(() => reject(err)),
        timer: setTimeout(() => entry.reject(new Error('no PUBACK from the MQTT broker in time')), this.options.ackTimeoutMs ?? 30_000),
      };
      const settle = (fn: () => void) => {
        if (!this.pending.delete(entry)) return;
        clearTimeout(entry.timer);
        fn();
      };
      this.pending.add(entry);
      client.publish(topic, payload, { qos: 1, retain: false }, (err) => (err ? entry.reject(err) : entry.resolve()));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    this.failAll(new Error('MQTT link stopped'));
    if (client) await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  }

  private open(): void {
    if (this.stopped) return;
    const url = new URL(this.options.url);
    const options: IClientOptions = {
      // A fresh id per attempt: the broker must not hand us another publisher's session.
      clientId: `proxy-proxy-${randomBytes(6).toString('hex')}`,
      clean: true,
      keepalive: 30,
      connectTimeout: 10_000,
      reconnectPeriod: 0,
      username: this.options.username,
      password: this.options.password,
      ...(url.protocol === 'mqtts:' ? { ...this.options.tls, rejectUnauthorized: true } : {}),
    };
    const client = connect(this.options.url, options);
    this.client = client;
    client.on('connect', () => {
      if (this.failures > 0 || this.lastError) this.logger.info(`MQTT: connected to ${this.options.url}`);
      this.failures = 0;
      this.lastError = '';
      for (const l of this.connectListeners) l();
    });
    client.on('error', (err) => {
      // Logged once per distinct error: a broker down for an hour is one line, not thousands.
      if (err.message !== this.lastError) this.logger.warn(`MQTT: ${this.options.url}: ${err.message}`);
      this.lastError = err.message;
    });
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      client.removeAllListeners('close');
      client.end(true);
      this.failAll(new Error('MQTT connection closed'));
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const base = this.options.baseBackoffMs ?? 250;
    const max = this.options.maxBackoffMs ?? 30_000;
    const wait = Math.min(max, base * 2 ** Math.min(this.failures, 20));
    this.failures += 1;
    // ±25 % so that several daemons do not hammer a broker that comes back in lock step.
    const jittered = wait * (0.75 + Math.random() * 0.5);
    this.retryTimer = setTimeout(() => this.open(), jittered);
    this.retryTimer.unref();
  }

  private failAll(err: Error): void {
    for (const p of [...this.pending]) p.reject(err);
  }
}
