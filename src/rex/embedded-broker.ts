// The MQTT broker proxy-proxy runs itself when rex.mqtt.broker is 'embedded' (aedes), so that
// one process does everything out of the box. With certificates it is what the installer makes
// of Mosquitto (docs/protocol/rex-pull.md §4.3): TLS, a client certificate required, the CN is
// the client's name. Its ACL is the installer's: a host reads only its own data/in and control/in, and only
// proxy-proxy's own publisher (a secret login made at start) may write doorbells.
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../ops/logger.js';
import { TOPIC_PREFIX } from './doorbell-message.js';

export interface EmbeddedBrokerOptions {
  bind: string;
  port: number;
  /** All three: TLS with required client certificates; none: plain MQTT. */
  tls?: { cert: Buffer; key: Buffer; ca: Buffer };
}

const PUBLISHER = 'proxy-proxy';

export class EmbeddedBroker {
  /** Login of the in-process publisher (random per start, never written anywhere). */
  readonly publisher = { username: PUBLISHER, password: randomBytes(24).toString('hex') };
  private readonly publishers = new WeakSet<Client>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly broker: Aedes,
    private readonly server: net.Server,
    readonly port: number,
    readonly secure: boolean,
    private readonly connectHost: string,
  ) {}

  static async start(options: EmbeddedBrokerOptions, logger: Logger): Promise<EmbeddedBroker> {
    let self: EmbeddedBroker | undefined;
    const broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => self!.authenticate(client, username, password, done),
      authorizePublish: (client, packet, done) => done(self!.mayPublish(client, packet.topic) ? null : new Error('publish not allowed')),
      authorizeSubscribe: (client, sub, done) => done(null, self!.maySubscribe(client, sub.topic) ? sub : null),
    });
    const server = options.tls
      ? tls.createServer({ ...options.tls, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }, broker.handle)
      : net.createServer(broker.handle);
    const host = options.bind === '*' ? '::' : options.bind;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => broker.close(() => r()));
      throw err;
    }
    // A stray client error must not become an unhandled 'error' event.
    server.on('tlsClientError', () => undefined);
    // Every socket, handshake or not, so that close() can end them all.
    server.on('connection', (socket: net.Socket) => {
      self?.sockets.add(socket);
      socket.once('close', () => self?.sockets.delete(socket));
    });
    broker.on('clientError', (client, err) => logger.debug(`MQTT broker: client ${client.id}: ${err.message}`));
    const port = (server.address() as AddressInfo).port;
    const wildcard = host === '::' || host === '0.0.0.0';
    self = new EmbeddedBroker(broker, server, port, options.tls !== undefined, wildcard ? '127.0.0.1' : host);
    logger.info(`MQTT broker (embedded) listening on ${options.tls ? 'mqtts' : 'mqtt'}://${host.includes(':') ? `[${host}]` : host}:${port}`);
    return self;
  }

  /** Where proxy-proxy's own publisher connects. */
  get url(): string {
    const host = this.connectHost.includes(':') ? `[${this.connectHost}]` : this.connectHost;
    return `${this.secure ? 'mqtts' : 'mqtt'}://${host}:${this.port}`;
  }

  get connectedClients(): number {
    return this.broker.connectedClients;
  }

  /** Stops listening and disconnects every client (server.close alone would wait for them). */
  async close(): Promise<void> {
    const listening = new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise<void>((resolve) => this.broker.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await listening;
  }

  private authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void,
  ): void {
    if (username === this.publisher.username) {
      const expected = Buffer.from(this.publisher.password);
      const ok = password !== undefined && password.length === expected.length && timingSafeEqual(password, expected);
      if (ok) this.publishers.add(client);
      return done(ok ? null : Object.assign(new Error('bad credentials'), { returnCode: 4 }) as AuthenticateError, ok);
    }
    // Hosts: with TLS the verified certificate names them; without, their client id does.
    if (this.secure && !this.identity(client)) return done(Object.assign(new Error('no client certificate CN'), { returnCode: 5 }) as AuthenticateError, false);
    done(null, true);
  }

  /** The installer's ACL: `pattern read yggdrasil/%u/data/in`, proxy writes `yggdrasil/+/data/in`. */
  private mayPublish(client: Client | null, topic: string): boolean {
    if (client === null) return true;
    const parts = topic.split('/');
    if (this.publishers.has(client)) return parts.length === 4 && parts[0] === TOPIC_PREFIX && parts[2] === 'data' && parts[3] === 'in';
    // yggd announces itself on control/out and sends an empty data/out; both go nowhere, but a
    // refused publish would make aedes drop the host's connection.
    const id = this.identity(client);
    return parts.length === 4 && parts[0] === TOPIC_PREFIX && parts[1] === id && parts[3] === 'out' && (parts[2] === 'data' || parts[2] === 'control');
  }

  private maySubscribe(client: Client, topic: string): boolean {
    const parts = topic.split('/');
    if (this.publishers.has(client)) return parts.length === 4 && parts[0] === TOPIC_PREFIX && parts[3] === 'out';
    const id = this.identity(client);
    return parts.length === 4 && parts[0] === TOPIC_PREFIX && parts[1] === id && parts[3] === 'in' && (parts[2] === 'data' || parts[2] === 'control');
  }

  private identity(client: Client): string | undefined {
    let id: string | undefined;
    if (!this.secure) id = client.id;
    else {
      const cn = (client.conn as tls.TLSSocket).getPeerCertificate?.()?.subject?.CN as string | string[] | undefined;
      id = Array.isArray(cn) ? cn[0] : cn;
    }
    // A name holding a wildcard would subscribe to every host's doorbells.
    return id && !/[+#/]/.test(id) ? id : undefined;
  }
}
