// What the rex-scale section stands on: the REX test PKI and fake Foreman (test/rex), host
// certificates issued once per run, Mosquitto set up with the ACL `proxy-proxy mosquitto-config`
// generates, the built daemon with rex enabled, and the simulated hosts
// (dist/src/sim/host/main.js) in processes of their own. Everything registers with the bench's
// cleanup.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createWorld, FOREMAN_CN, startFakeForeman, type FakeForeman, type World } from '../test/rex/rex-harness.js';
import { hostCn } from '../test/support/host-pki.js';
import { cachedHostCerts, HOST_CERT_CACHE } from './host-cert-cache.js';
import { startMosquitto, type Mosquitto } from '../test/support/mosquitto.js';
import type { IssuedCert } from '../test/support/pki.js';
import { onCleanup, tempDir } from './cleanup.js';
import { daemonYaml, startDaemon, type DaemonProcess } from './daemon-process.js';
import { DAEMON_MAIN, SIM_HOST_MAIN } from './paths.js';
import { freePort, LOOPBACK, spawnTracked, stopChild } from './proc.js';

/** The MQTT identity of the simulator's shared connections (one connection carries many hosts). */
export const SIM_FLEET_CN = 'sim-fleet.example.test';

export interface RexWorld {
  world: World;
  foreman: FakeForeman;
  /** <cn>.crt / <cn>.key of host1 … hostN.example.test (own EC P-256 key each). */
  certDir: string;
  hosts: number;
  certMs: number;
  /** Host certificates issued for this run (the rest came from the cache). */
  certsIssued: number;
  /** The daemon's ssl_ca_file: the run's CA and the cached host CA. */
  caBundle: string;
  /** Client certificate of the simulator's shared MQTT connections. */
  simMqtt: IssuedCert;
  /** The broker's own server certificate. */
  broker: IssuedCert;
}

/** The PKI, the fake Foreman and `hosts` host certificates (host-cert-cache.ts: issued once, kept). */
export async function prepareRexWorld(hosts: number, log: (s: string) => void): Promise<RexWorld> {
  const world = await createWorld();
  onCleanup(async () => rmSync(world.pki.dir, { recursive: true, force: true }));
  const foreman = await startFakeForeman(world);
  onCleanup(() => foreman.close());
  const started = performance.now();
  log(`host certificates: ${hosts}, from ${HOST_CERT_CACHE} where issued before…`);
  // openssl is mostly process start-up: a few more at once than there are cores.
  const [cached, simMqtt, broker] = await Promise.all([
    cachedHostCerts(hosts, 2 * availableParallelism()),
    world.pki.issue(SIM_FLEET_CN),
    world.pki.issue('mqtt.example.test', { server: true }),
  ]);
  const caBundle = join(world.pki.dir, 'ca-bundle.crt');
  writeFileSync(caBundle, readFileSync(world.pki.caCert, 'utf8') + readFileSync(cached.caCert, 'utf8'));
  return { world, foreman, certDir: cached.dir, hosts, certMs: performance.now() - started, certsIssued: cached.issued, caBundle, simMqtt, broker };
}

export const hostNames = (n: number): string[] => Array.from({ length: n }, (_, i) => hostCn(i + 1));

/** The rex part of the daemon's YAML (top-level keys), for a broker URL. */
export function rexYaml(w: RexWorld, brokerUrl: string, httpsPort: number): string {
  return `https_port: ${httpsPort}
ssl_certificate: ${w.world.proxy.cert}
ssl_private_key: ${w.world.proxy.key}
ssl_ca_file: ${w.caBundle}
trusted_hosts: [${FOREMAN_CN}, localhost]
foreman_url: ${w.foreman.url}
rex:
  enabled: true
  mqtt:
    broker: ${brokerUrl}
`;
}

/**
 * Mosquitto on a loopback port: TLS only, client certificates required, CN as user name, and
 * the ACL `proxy-proxy mosquitto-config --acl` derives from the daemon's config, plus one bench
 * entry letting the simulator's shared connections read every host's doorbells.
 */
export async function startFleetBroker(w: RexWorld): Promise<{ broker: Mosquitto; acl: string }> {
  const dir = tempDir('rex-acl');
  const config = join(dir, 'proxy-proxy.yaml');
  // The ACL depends on proxy-proxy's MQTT identity only, not on the broker's port.
  writeFileSync(config, daemonYaml({ label: 'rex-acl', features: '', extra: rexYaml(w, 'mqtts://127.0.0.1:8883', 8443) }, 8000, dir));
  const generated = execFileSync(process.execPath, [DAEMON_MAIN, 'mosquitto-config', '--config', config, '--acl'], { encoding: 'utf8' });
  const acl = `${generated}
# bench: the simulator multiplexes many hosts on one connection (each host's HTTPS identity is
# still its own certificate), so its connections may read every host's doorbells.
user ${SIM_FLEET_CN}
topic read yggdrasil/+/data/in
topic write yggdrasil/+/control/out
`;
  const broker = await startMosquitto({
    plain: false,
    tls: { caFile: w.world.pki.caCert, certFile: w.broker.cert, keyFile: w.broker.key, acl },
    // As the generated listener has it.
    extraConfig: ['tls_version tlsv1.2'],
  });
  onCleanup(() => broker.dispose());
  return { broker, acl };
}

export interface RexDaemonProcess extends DaemonProcess {
  httpsUrl: string;
}

/** `stateYaml`: a top-level `state:` section (the postgresql driver); none: the SQLite file. */
export async function startRexDaemonProcess(w: RexWorld, brokerUrl: string, nodeArgs: string[] = [], stateYaml = ''): Promise<RexDaemonProcess> {
  const httpsPort = await freePort();
  const d = await startDaemon({ label: 'rex-scale', features: '', extra: `${stateYaml}${rexYaml(w, brokerUrl, httpsPort)}`, nodeArgs });
  return { ...d, httpsUrl: `https://${LOOPBACK}:${httpsPort}` };
}

export interface SimFleet {
  children: ChildProcess[];
  /** Scripts that ended, as the simulators report them. */
  finished(): number;
  /**
   * Jobs a simulated host fetched (start, 200) and has not yet posted an exit update for: still
   * running, or queued for a run slot, in a simulator.
   */
  running(): number;
  /** Events that mean a job may not make it (failed fetch or post, dropped, errors). */
  problems(): { count: number; samples: string[] };
  stop(): Promise<void>;
}

export interface SimFleetOptions {
  brokerUrl: string;
  hosts: number;
  processes: number;
  hostsPerConnection: number;
  readyTimeoutMs: number;
  /** Scripts run in process, no fork per job (the daemon's capacity, not the simulators'). */
  emulateScripts?: boolean;
}

// Most events are the happy path; only these are parsed.
const TROUBLE = /"event":"(error|ignored|rejected|subscribe-refused|disconnected)"/;

/** Starts the simulated hosts, split over `processes` processes; resolves once all subscribed. */
export async function startSimFleet(w: RexWorld, o: SimFleetOptions): Promise<SimFleet> {
  const workdir = tempDir('rex-sim');
  let finished = 0;
  let fetchedStarts = 0;
  let exitsPosted = 0;
  let trouble = 0;
  const samples: string[] = [];
  const note = (line: string) => {
    trouble++;
    if (samples.length < 5) samples.push(line.slice(0, 300));
  };
  const per = Math.ceil(o.hosts / o.processes);
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let first = 1; first <= o.hosts; first += per) {
    const count = Math.min(per, o.hosts - first + 1);
    const child = spawnTracked(process.execPath, [
      SIM_HOST_MAIN,
      ...['--json-events', '--broker', o.brokerUrl, '--ca', w.world.pki.caCert, '--cert-dir', w.certDir],
      ...['--mqtt-cert', w.simMqtt.cert, '--mqtt-key', w.simMqtt.key, '--hosts-per-connection', String(o.hostsPerConnection)],
      ...['--hosts', String(count), '--first-index', String(first), '--workdir', workdir],
      ...(o.emulateScripts ? ['--emulate-scripts'] : []),
    ]);
    children.push(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4000)));
    let buf = '';
    ready.push(
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`simulated hosts ${first}…: not subscribed within ${o.readyTimeoutMs} ms: ${stderr}`)), o.readyTimeoutMs);
        // After "ready" this rejects a settled promise: a no-op.
        child.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`simulated hosts ${first}… exited with ${code}: ${stderr}`));
        });
        child.stdout!.setEncoding('utf8').on('data', (d: string) => {
          buf += d;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.startsWith('{"event":"finished"')) finished++;
            else if (line.startsWith('{"event":"posted"') || line.startsWith('{"event":"fetched"')) {
              const ok = line.includes('"status":200');
              if (!ok) note(line);
              else if (line.startsWith('{"event":"fetched"')) {
                if (line.includes('"kind":"start"')) fetchedStarts++;
              } else if (line.includes('"exit":true')) exitsPosted++;
            } else if (line.startsWith('{"event":"ready"')) {
              clearTimeout(timer);
              resolve();
            } else if (TROUBLE.test(line)) note(line);
          }
        });
      }),
    );
  }
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
  };
  onCleanup(stop);
  try {
    await Promise.all(ready);
  } catch (err) {
    await stop();
    throw err;
  }
  return { children, finished: () => finished, running: () => Math.max(0, fetchedStarts - exitsPosted), problems: () => ({ count: trouble, samples: [...samples] }), stop };
}
