// Entry point of the simulated pull-mqtt hosts: `node dist/src/sim/host/main.js [options]`, or
// `proxy-proxy sim-host [options]` through runSimHostCli. Exits 0 on SIGTERM/SIGINT.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEventSink, type EventSink } from './events.js';
import { SimHost } from './host.js';
import { MqttLink } from './mqtt-link.js';
import { hostName, parseSimHostArgs, SIM_HOST_USAGE, UsageError, type SimHostOptions } from './options.js';
import { Slots } from './worker.js';
import { executedDirectly } from '../executed-directly.js';

export interface RunningSimHosts {
  hosts: SimHost[];
  /** Resolves once every host has been subscribed for the first time. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

function readIdentity(dir: string, name: string): { cert: Buffer; key: Buffer } {
  try {
    return { cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)) };
  } catch (err) {
    throw new UsageError(`--cert-dir: no certificate/key for ${name}: ${(err as Error).message}`);
  }
}

export function startSimHosts(opts: SimHostOptions, events: EventSink): RunningSimHosts {
  const ca = opts.ca ? readFileSync(opts.ca) : undefined;
  const mqttCert = opts.mqttCert ? readFileSync(opts.mqttCert) : undefined;
  const mqttKey = opts.mqttKey ? readFileSync(opts.mqttKey) : undefined;
  const children = new Set<ChildProcess>();
  let stopping = false;
  const ctx = {
    events,
    slots: new Slots(opts.concurrency),
    workdir: opts.workdir ?? tmpdir(),
    batchSize: opts.batchSize,
    batchSeconds: opts.batchSeconds,
    children,
    stopping: () => stopping,
    ca,
    dataHost: opts.dataHost,
    yggd: opts.yggd,
    httpTimeoutMs: opts.httpTimeoutMs,
    emulateScripts: opts.emulateScripts,
  };

  const identities = new Map<string, { cert: Buffer; key: Buffer }>();
  const hosts: SimHost[] = [];
  for (let k = opts.firstIndex; k < opts.firstIndex + opts.hosts; k++) {
    const name = hostName(opts, k);
    const id = readIdentity(opts.certDir, name);
    identities.set(name, id);
    hosts.push(new SimHost(name, id.cert, id.key, ctx));
  }

  const groups: SimHost[][] = [];
  const perLink = opts.mqttHostCerts ? 1 : opts.hostsPerConnection || hosts.length;
  for (let i = 0; i < hosts.length; i += perLink) groups.push(hosts.slice(i, i + perLink));

  let resolveReady!: () => void;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));
  let waiting = groups.length;
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const links = groups.map((group, index) => {
    const own = opts.mqttHostCerts ? identities.get(group[0]!.name) : undefined;
    return new MqttLink(group, {
      index,
      broker: opts.broker,
      // yggd's client id is its certificate CN; shared links need ids of their own.
      clientId: own ? group[0]!.name : `sim-host-${tag}-${index}`,
      ca,
      cert: own?.cert ?? mqttCert,
      key: own?.key ?? mqttKey,
      reconnectMs: opts.reconnectMs,
      keepaliveSeconds: opts.keepaliveSeconds,
      events,
      onFirstSubscribed: () => {
        if (--waiting === 0) {
          events({ event: 'ready', hosts: hosts.length, connections: groups.length });
          resolveReady();
        }
      },
    });
  });

  return {
    hosts,
    ready,
    async stop() {
      stopping = true;
      // Scripts run in process groups of their own: take each whole group down.
      for (const child of children) {
        if (child.pid === undefined) continue;
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await Promise.all(links.map((l) => l.close()));
      await Promise.all(hosts.map((h) => h.close()));
    },
  };
}

export async function runSimHostCli(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(SIM_HOST_USAGE + '\n');
    return;
  }
  let running: RunningSimHosts;
  try {
    const options = parseSimHostArgs(argv);
    running = startSimHosts(options, makeEventSink(options));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`sim-host: ${err.message} (see --help)\n`);
      process.exit(2);
    }
    throw err;
  }
  const shutdown = () => {
    // Bounded: exit 0 even if a close hangs.
    setTimeout(() => process.exit(0), 3000).unref();
    running.stop().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}


if (executedDirectly(import.meta.url)) {
  runSimHostCli(process.argv.slice(2)).catch((err: Error) => {
    process.stderr.write(`sim-host: ${err.message}\n`);
    process.exit(1);
  });
}
