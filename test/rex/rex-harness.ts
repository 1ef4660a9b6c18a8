// What the REX integration tests stand on: one test PKI (proxy, Foreman and a certificate per
// host CN), a fake Foreman on HTTPS that records callbacks, proxy-proxy in-process with the
// spool on its embedded broker, and a minimal host (mqtt.js subscriber + undici with its own
// client certificate) that runs a tiny script language. All on loopback, every wait bounded.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { connect, type MqttClient } from 'mqtt';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { configFromObject } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import type { SharedSpool } from '../../src/state/postgresql/open-spool.js';
import { client, type Client } from '../support/http-client.js';
import { createPki, type IssuedCert, type Pki } from '../support/pki.js';

const run = promisify(execFile);
export const RUN_SCRIPT = 'Proxy::RemoteExecution::Ssh::Actions::RunScript';
export const FOREMAN_CN = 'foreman.example.test';
export const PROXY_CN = 'proxy.example.test';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

export interface World {
  pki: Pki;
  ca: Buffer;
  proxy: IssuedCert;
  foreman: TlsMaterial;
  /** A client certificate for a host CN (one shared key: issuing is one openssl call). */
  host(cn: string): Promise<TlsMaterial>;
  /** The same as files, for a host simulated in another process. */
  hostFiles(cn: string): Promise<{ cert: string; key: string; ca: string }>;
}

export async function createWorld(): Promise<World> {
  const pki = await createPki();
  const proxy = await pki.issue(PROXY_CN, { server: true });
  const foremanFiles = await pki.issue(FOREMAN_CN, { server: true });
  const ca = readFileSync(pki.caCert);
  const sharedKey = join(pki.dir, 'hosts.key');
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', sharedKey]);
  const key = readFileSync(sharedKey);
  const cache = new Map<string, Promise<string>>();
  const hostFiles = (cn: string) => {
    let hit = cache.get(cn);
    if (!hit) {
      const out = join(pki.dir, `host-${cn.replace(/[^A-Za-z0-9_.-]/g, '_')}.crt`);
      hit = run('openssl', [
        'req', '-x509', '-new', '-key', sharedKey, '-CA', pki.caCert, '-CAkey', pki.caKey, '-subj', `/CN=${cn}`, '-days', '30',
        '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=clientAuth', '-out', out,
      ]).then(() => out);
      cache.set(cn, hit);
    }
    return hit.then((cert) => ({ cert, key: sharedKey, ca: pki.caCert }));
  };
  return {
    pki,
    ca,
    proxy,
    foreman: { cert: readFileSync(foremanFiles.cert), key: readFileSync(foremanFiles.key), ca },
    hostFiles,
    host: (cn) => hostFiles(cn).then((f) => ({ cert: readFileSync(f.cert), key, ca })),
  };
}

export interface CallbackEntry {
  callback: { task_id: string; step_id: unknown };
  data: { state: string; result: { output_type: string; output: string; timestamp: number }[]; exit_status?: number | string; exit_status_timestamp?: number };
}

export interface FakeForeman {
  url: string;
  /** Every POST to the callback URL, parsed, in arrival order (refused ones too). */
  posts: { status: number; cn: string | undefined; accept: string | undefined; body: { callbacks?: CallbackEntry[] } }[];
  /** Accepted results by Foreman task id (the latest one). */
  results: Map<string, CallbackEntry['data']>;
  /** Answer the next `n` callback POSTs with `status`. */
  fail(n: number, status?: number): void;
  /**
   * Callback POSTs wait for their answer until release(). One whose connection closes meanwhile
   * (its sender died) is answered never and recorded nowhere: its sender never learned of it.
   */
  hold(): void;
  release(): void;
  /** The POSTs waiting for an answer: the client's CN, the Foreman task ids, whether its connection closed. */
  held(): { cn: string | undefined; taskIds: string[]; closed: boolean }[];
  close(): Promise<void>;
}

export async function startFakeForeman(world: World): Promise<FakeForeman> {
  const posts: FakeForeman['posts'] = [];
  const results = new Map<string, CallbackEntry['data']>();
  let failures = 0;
  let failStatus = 500;
  let holding = false;
  const waiting: { cn: string | undefined; taskIds: string[]; closed: boolean; answer(): void }[] = [];
  const server = https.createServer(
    { cert: world.foreman.cert, key: world.foreman.key, ca: world.ca, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method !== 'POST' || req.url !== '/foreman_tasks/api/tasks/callback') {
          res.writeHead(404).end();
          return;
        }
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { callbacks?: CallbackEntry[] };
        const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN as string | undefined;
        const answer = () => {
          const status = failures > 0 ? failStatus : 200;
          if (failures > 0) failures -= 1;
          posts.push({ status, cn, accept: req.headers.accept, body });
          if (status === 200) for (const e of body.callbacks ?? []) results.set(e.callback.task_id, e.data);
          res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"message":"processing"}' : '{}');
        };
        if (!holding) return answer();
        const entry = { cn, taskIds: (body.callbacks ?? []).map((e) => e.callback.task_id), closed: false, answer };
        res.once('close', () => (entry.closed = true));
        waiting.push(entry);
      });
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    results,
    fail(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const w of waiting.splice(0)) if (!w.closed) w.answer();
    },
    held: () => waiting.map(({ cn, taskIds, closed }) => ({ cn, taskIds, closed })),
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface RexDaemon {
  daemon: Daemon;
  /** Base URL of the HTTPS listener (the proxy_url Foreman sends). */
  url: string;
  /** The embedded broker's URL ('' with an external broker). */
  mqttUrl: string;
  /** Foreman's client (trusted CN). */
  foreman: Client;
  stop(): Promise<void>;
}

export interface RexDaemonOptions {
  stateDir?: string;
  httpsPort?: number;
  mqttPort?: number;
  /** Merged into the rex: section. */
  rex?: Record<string, unknown>;
  /** Merged into the top level. */
  top?: Record<string, unknown>;
  /** A spool shared with other instances (PostgreSQL) instead of the state file's. */
  spool?: SharedSpool;
}

export function tempStateDir(): string {
  return mkdtempSync(join(tmpdir(), 'pp-rex-'));
}

/**
 * A REX daemon's settings: the test PKI's proxy certificate, Foreman trusted, no feature of
 * the smart proxy. `top` is merged into the top level, `rex` into the rex: section.
 */
export function rexSettings(world: World, o: { foremanUrl: string; stateDir: string; top?: Record<string, unknown>; rex: Record<string, unknown> }): Record<string, unknown> {
  return {
    bind_host: '127.0.0.1',
    ssl_certificate: world.proxy.cert,
    ssl_private_key: world.proxy.key,
    ssl_ca_file: world.pki.caCert,
    trusted_hosts: [FOREMAN_CN],
    foreman_url: o.foremanUrl,
    state_dir: o.stateDir,
    log_level: 'INFO',
    features: {},
    ...o.top,
    rex: { enabled: true, ...o.rex },
  };
}

/** The same as the YAML file a daemon process reads. */
export function rexYaml(world: World, o: Parameters<typeof rexSettings>[1]): string {
  return stringify(rexSettings(world, o));
}

export async function startRexDaemon(world: World, foreman: FakeForeman, opts: RexDaemonOptions = {}): Promise<RexDaemon> {
  const config = configFromObject(
    rexSettings(world, {
      foremanUrl: foreman.url,
      stateDir: opts.stateDir ?? tempStateDir(),
      top: { https_port: opts.httpsPort ?? 0, log_level: 'DEBUG', shutdown_timeout_ms: 3000, ...opts.top },
      rex: {
        mqtt: { broker: 'embedded', embedded_bind: '127.0.0.1', embedded_port: opts.mqttPort ?? 0, ttl: 1, resend_interval: 3 },
        callback: { batch_interval_ms: 50, retry: { base_ms: 100, max_ms: 400 } },
        cancel_grace: 2,
        ...opts.rex,
      },
    }),
  );
  const daemon = new Daemon(config, { silent: true, ...(opts.spool ? { rexSpool: opts.spool } : {}) });
  await daemon.start();
  const url = daemon.url('https')!;
  const foremanClient = client(url, world.foreman);
  return {
    daemon,
    url,
    mqttUrl: daemon.rex!.embeddedBroker?.url ?? '',
    foreman: foremanClient,
    async stop() {
      await foremanClient.close();
      await daemon.stop();
    },
  };
}

export interface JobSpec {
  /** Foreman's plan uuid (the child task id). */
  taskId: string;
  /** Foreman's task id, sent as callback.task_id. */
  foremanTaskId?: string;
  host: string;
  script: string;
  effectiveUser?: string | null;
  timeToPickup?: number;
  executionTimeout?: number | null;
}

export function actionInput(job: JobSpec, proxyUrl: string): Record<string, unknown> {
  return {
    callback: { task_id: job.foremanTaskId ?? `ft-${job.taskId}`, step_id: 3 },
    script: job.script,
    hostname: '192.0.2.10',
    alternative_names: { fqdn: job.host },
    effective_user: job.effectiveUser === undefined ? 'root' : job.effectiveUser,
    execution_timeout_interval: job.executionTimeout ?? null,
    time_to_pickup: job.timeToPickup ?? 86400,
    proxy_url: proxyUrl,
    proxy_operation_name: 'ssh',
    proxy_action_name: RUN_SCRIPT,
    ssh_user: 'root',
    ssh_port: 22,
    secrets: { ssh_password: 'hunter2', key_passphrase: null, effective_user_password: null },
    use_batch_triggering: true,
    connection_options: { retry_interval: 15, retry_count: 4, proxy_batch_triggering: true },
  };
}

/** The body Foreman's batch trigger sends (docs/protocol/rex-pull.md §1.2). */
export function batchLaunch(jobs: JobSpec[], proxyUrl: string): string {
  const input: Record<string, unknown> = {};
  for (const j of jobs) input[j.taskId] = { action_class: RUN_SCRIPT, action_input: actionInput(j, proxyUrl) };
  return JSON.stringify({ operation: 'ssh', options: {}, input });
}

export async function postJson(c: Client, path: string, body: string | object) {
  const reply = await c.send('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  let json: unknown;
  try {
    json = JSON.parse(reply.body);
  } catch {
    json = undefined;
  }
  return { ...reply, json: json as Record<string, any> };
}

export async function getJson(c: Client, path: string) {
  const reply = await c.get(path);
  let json: unknown;
  try {
    json = JSON.parse(reply.body);
  } catch {
    json = undefined;
  }
  return { ...reply, json: json as Record<string, any> };
}

export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Doorbell {
  type: string;
  message_id: string;
  version: number;
  sent: string;
  directive: string;
  content: string;
  metadata: Record<string, string>;
}

/** Longest a script waits at a `gate` line. */
const GATE_MAX_MS = 120_000;

/** How a test host treats a cancel message: stop the script (exit 143), or carry on. */
export type CancelMode = 'obey' | 'ignore';

/**
 * A host as yggd + foreman_ygg_worker behave, reduced: every start doorbell is fetched (with
 * the host's certificate) and the script run; output goes out as v1 updates, batched per
 * `sleep`/`gate` and on exit. Like them it never retries: a fetch or a POST that gets no answer is
 * recorded and dropped. Script lines: `echo <text>`, `err <text>`, `sleep <ms>`, `gate` (wait for
 * openGate()), `exit <code>`.
 */
export class TestHost {
  readonly doorbells: Doorbell[] = [];
  readonly fetches: { url: string; status: number; body: string; user: string | undefined }[] = [];
  /** Every update POST; status 0 with `error` when it got no answer (the batch is then gone). */
  readonly updates: { url: string; status: number; error?: string; exit: boolean }[] = [];
  cancelMode: CancelMode = 'obey';
  /** When false, doorbells are recorded but not acted on. */
  autoRun = true;
  private mqtt: MqttClient | undefined;
  private readonly agent: Agent;
  /** Failures of doorbells handled on their own (a test reads them rather than losing them). */
  readonly errors: Error[] = [];
  private readonly cancelled = new Set<string>();
  private gateOpen = false;
  /** Update POSTs sent and not yet answered (or failed). */
  posting = 0;
  private readonly running = new Set<Promise<void>>();
  private closed = false;

  constructor(
    readonly cn: string,
    private readonly tls: TlsMaterial,
    /** How long a connection (TCP and TLS) may take; undici's default is 10 s. */
    connectTimeoutMs?: number,
  ) {
    // One connection, reused for fetch and updates, as yggd's Go client does.
    this.agent = new Agent({ connections: 1, connect: { ca: tls.ca, cert: tls.cert, key: tls.key, ...(connectTimeoutMs ? { timeout: connectTimeoutMs } : {}) } });
  }

  async connect(brokerUrl: string): Promise<void> {
    const mqtt = connect(brokerUrl, {
      clientId: this.cn,
      clean: true,
      reconnectPeriod: 200,
      connectTimeout: 5000,
      ca: this.tls.ca,
      cert: this.tls.cert,
      key: this.tls.key,
      rejectUnauthorized: true,
    });
    this.mqtt = mqtt;
    mqtt.on('error', () => undefined);
    mqtt.on('message', (_topic, payload) => this.onMessage(payload.toString('utf8')));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.cn}: no MQTT connection`)), 5000);
      mqtt.once('connect', () => {
        mqtt.subscribe(`yggdrasil/${this.cn}/data/in`, { qos: 1 }, (err) => {
          clearTimeout(timer);
          if (err) reject(err);
          else resolve();
        });
      });
    });
  }

  /** Runs a doorbell by hand (autoRun off, or a replayed one). */
  handle(bell: Doorbell): Promise<void> {
    const p = this.process(bell).finally(() => this.running.delete(p));
    this.running.add(p);
    return p;
  }

  /** Lets scripts past their `gate` line, now and later: the test decides when hosts report. */
  openGate(): void {
    this.gateOpen = true;
  }

  /** Scripts stop at their `gate` line again. */
  closeGate(): void {
    this.gateOpen = false;
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Closes whatever happened; a test reads `errors` itself (close() must not throw mid-cleanup). */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await new Promise<void>((r) => (this.mqtt ? this.mqtt.end(true, {}, () => r()) : r()));
    await this.agent.close();
  }

  get(url: string) {
    return request(url, { dispatcher: this.agent });
  }

  async head(url: string): Promise<number> {
    const res = await request(url, { method: 'HEAD', dispatcher: this.agent });
    await res.body.dump();
    return res.statusCode;
  }

  /** One POST with the host's certificate, body as given, no retries. */
  async post(url: string, body: string): Promise<{ status: number; text: string }> {
    const res = await request(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: this.agent });
    return { status: res.statusCode, text: await res.body.text() };
  }

  /** One POST, never retried: foreman_ygg_worker logs a failed send and drops the batch. */
  async postUpdate(url: string, body: object): Promise<number> {
    const exit = (body as { updates?: { type?: string }[] }).updates?.some((u) => u.type === 'exit') === true;
    this.posting += 1;
    try {
      const res = await request(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' }, dispatcher: this.agent });
      await res.body.dump();
      this.updates.push({ url, status: res.statusCode, exit });
      return res.statusCode;
    } catch (err) {
      this.updates.push({ url, status: 0, error: (err as Error).message, exit });
      return 0;
    } finally {
      this.posting -= 1;
    }
  }

  private onMessage(text: string): void {
    const bell = JSON.parse(text) as Doorbell;
    this.doorbells.push(bell);
    if (bell.metadata.event === 'cancel') {
      this.cancelled.add(bell.metadata.job_uuid!);
      return;
    }
    if (this.autoRun) this.handle(bell).catch((err: Error) => this.errors.push(err));
  }

  private async process(bell: Doorbell): Promise<void> {
    let res;
    try {
      // One GET, as yggd: a failed fetch leaves the job to the next doorbell.
      res = await request(bell.content, { dispatcher: this.agent });
    } catch (err) {
      this.fetches.push({ url: bell.content, status: 0, body: (err as Error).message, user: undefined });
      return;
    }
    const body = await res.body.text();
    const user = res.headers['x-foreman-effective-user'] as string | undefined;
    this.fetches.push({ url: bell.content, status: res.statusCode, body, user });
    if (res.statusCode !== 200) return;
    const jobUuid = bell.metadata.job_uuid!;
    const returnUrl = bell.metadata.return_url!;
    let pending: object[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const updates = pending;
      pending = [];
      await this.postUpdate(returnUrl, { version: '1', updates });
    };
    const stamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    let code = 0;
    for (const line of body.split('\n')) {
      const [cmd, ...rest] = line.split(' ');
      const arg = rest.join(' ');
      if (cmd === 'echo') pending.push({ type: 'output', timestamp: stamp(), stream: 'stdout', content: `${arg}\n` });
      else if (cmd === 'err') pending.push({ type: 'output', timestamp: stamp(), stream: 'stderr', content: `${arg}\n` });
      else if (cmd === 'exit') {
        code = Number(arg);
        break;
      } else if (cmd === 'gate') {
        await flush();
        const until = Date.now() + GATE_MAX_MS;
        while (!this.gateOpen) {
          if (this.closed) return;
          if (Date.now() > until) throw new Error(`${this.cn}: gate not opened within ${GATE_MAX_MS} ms`);
          await new Promise((r) => setTimeout(r, 20));
        }
      } else if (cmd === 'sleep') {
        await flush();
        const until = Date.now() + Number(arg);
        while (Date.now() < until) {
          if (this.closed) return;
          if (this.cancelled.has(jobUuid) && this.cancelMode === 'obey') break;
          await new Promise((r) => setTimeout(r, 20));
        }
        if (this.cancelled.has(jobUuid) && this.cancelMode === 'obey') {
          code = 143;
          pending.push({ type: 'output', timestamp: stamp(), stream: 'stderr', content: 'Terminated\n' });
          break;
        }
      }
    }
    pending.push({ type: 'exit', timestamp: stamp(), exit_code: code });
    await flush();
  }
}
