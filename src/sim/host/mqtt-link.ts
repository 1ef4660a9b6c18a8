// One broker connection carrying one or more simulated hosts. Like yggd: clean session, QoS 1
// subscription to each host's data/in on every (re)connect — so messages published while the
// link is down are lost — and a connection-status "online" message on each host's control/out.
import { randomUUID } from 'node:crypto';
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { EventSink } from './events.js';
import type { SimHost } from './host.js';
import { rfc3339 } from './updates.js';

export interface LinkOptions {
  index: number;
  broker: string;
  clientId: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  reconnectMs: number;
  keepaliveSeconds: number;
  events: EventSink;
  /** Called once when every host of this link has been subscribed for the first time. */
  onFirstSubscribed(): void;
}

/** Topics per SUBSCRIBE packet, to keep packets small when one link carries many hosts. */
const SUBSCRIBE_BATCH = 500;

function connectionStatus(host: string, state: 'online' | 'offline'): string {
  return JSON.stringify({
    type: 'connection-status',
    message_id: randomUUID(),
    version: 1,
    sent: rfc3339(),
    content: { canonical_facts: { fqdn: host }, dispatchers: { foreman: {} }, state, client_version: '0.4-sim' },
  });
}

export class MqttLink {
  private readonly client: MqttClient;
  private readonly byTopic = new Map<string, SimHost>();
  private firstDone = false;
  private connected = false;

  constructor(
    private readonly hosts: SimHost[],
    private readonly opts: LinkOptions,
  ) {
    for (const h of hosts) this.byTopic.set(h.topic, h);
    const options: IClientOptions = {
      clientId: opts.clientId,
      clean: true,
      protocolVersion: 4,
      keepalive: opts.keepaliveSeconds,
      reconnectPeriod: opts.reconnectMs,
      connectTimeout: 30_000,
      // Subscriptions are renewed by hand on each connect, as yggd's OnConnectHandler does.
      resubscribe: false,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      rejectUnauthorized: true,
    };
    // A will can speak for one host only; yggd's says "offline" for its single client id.
    if (hosts.length === 1) {
      options.will = { topic: `yggdrasil/${hosts[0]!.name}/control/out`, payload: Buffer.from(connectionStatus(hosts[0]!.name, 'offline')), qos: 1, retain: false };
    }
    this.client = connect(opts.broker, options);
    this.client.on('connect', () => this.onConnect());
    this.client.on('close', () => {
      if (!this.connected) return;
      this.connected = false;
      opts.events({ event: 'disconnected', connection: opts.index });
    });
    this.client.on('error', (err) => opts.events({ event: 'error', connection: opts.index, message: err.message }));
    this.client.on('message', (topic, payload) => {
      const host = this.byTopic.get(topic);
      if (host) host.onMessage(payload);
    });
  }

  private onConnect(): void {
    this.connected = true;
    const { events, index } = this.opts;
    events({ event: 'connected', connection: index, hosts: this.hosts.length });
    const pending: Promise<void>[] = [];
    for (let i = 0; i < this.hosts.length; i += SUBSCRIBE_BATCH) {
      const batch = this.hosts.slice(i, i + SUBSCRIBE_BATCH);
      const topics = Object.fromEntries(batch.map((h) => [h.topic, { qos: 1 as const }]));
      pending.push(
        new Promise<void>((resolve) => {
          this.client.subscribe(topics, (err, granted) => {
            if (err) {
              events({ event: 'error', connection: index, message: `subscribe: ${err.message}` });
              return resolve();
            }
            for (const g of granted ?? []) {
              const host = this.byTopic.get(g.topic)?.name;
              events({ event: g.qos === 128 ? 'subscribe-refused' : 'subscribed', host, connection: index, topic: g.topic, qos: g.qos });
            }
            resolve();
          });
        }),
      );
    }
    for (const h of this.hosts) {
      this.client.publish(`yggdrasil/${h.name}/control/out`, connectionStatus(h.name, 'online'), { qos: 1 });
    }
    void Promise.all(pending).then(() => {
      if (this.firstDone || !this.connected) return;
      this.firstDone = true;
      this.opts.onFirstSubscribed();
    });
  }

  /** DISCONNECT and close; bounded so a dead broker cannot hold up a shutdown. */
  async close(): Promise<void> {
    await Promise.race([
      new Promise<void>((resolve) => this.client.end(false, {}, () => resolve())),
      new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()),
    ]);
    this.client.end(true);
  }
}
