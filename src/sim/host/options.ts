// Command-line options of the simulated pull-mqtt host (`proxy-proxy sim-host …` /
// dist/src/sim/host/main.js). One process stands in for N hosts running yggd + foreman_ygg_worker.
import { parseLongOptions, UsageError } from '../long-options.js';

export type YggdVersion = '0.2' | '0.4';

export interface SimHostOptions {
  broker: string;
  /** CA for the broker's and the job server's certificates (system CAs when unset). */
  ca?: string;
  /** One client certificate for every broker connection (unless mqttHostCerts). */
  mqttCert?: string;
  mqttKey?: string;
  /** Each host opens its own broker connection with its own certificate, client id = CN (as yggd). */
  mqttHostCerts: boolean;
  hosts: number;
  namePrefix: string;
  domain: string;
  /** Number of the first host: hosts are <prefix><first> … <prefix><first+hosts-1>. */
  firstIndex: number;
  certDir: string;
  /** Hosts sharing one broker connection; 0 = all on one. */
  hostsPerConnection: number;
  /** Scripts running at once in this process; further fetched jobs wait for a slot. */
  concurrency: number;
  /** yggd's data-host: replaces host:port of every content/return URL. */
  dataHost?: string;
  /** Which yggd generation's fetch-status handling to copy (docs/protocol/rex-pull.md §4.1). */
  yggd: YggdVersion;
  /** foreman_ygg_worker's aggregation thresholds (docs/protocol/rex-pull.md §4.2). */
  batchSize: number;
  batchSeconds: number;
  httpTimeoutMs: number;
  /** Where script temp files go (the worker's FOREMAN_YGG_WORKER_WORKDIR). */
  workdir?: string;
  reconnectMs: number;
  keepaliveSeconds: number;
  jsonEvents: boolean;
  quiet: boolean;
  /** echo/exit scripts run in process, no fork (a bench of the daemon's capacity). */
  emulateScripts: boolean;
}

export { UsageError };

const VALUE_OPTIONS = new Set([
  'broker',
  'ca',
  'mqtt-cert',
  'mqtt-key',
  'hosts',
  'name-prefix',
  'domain',
  'first-index',
  'cert-dir',
  'hosts-per-connection',
  'concurrency',
  'data-host',
  'yggd',
  'batch-size',
  'batch-seconds',
  'http-timeout',
  'workdir',
  'reconnect-ms',
  'keepalive',
]);
const FLAG_OPTIONS = new Set(['json-events', 'quiet', 'mqtt-host-certs', 'emulate-scripts']);

export const SIM_HOST_USAGE = `usage: sim-host --broker URL --cert-dir DIR [options]
  --broker URL              mqtt://host:port or mqtts://host:port
  --cert-dir DIR            holds <cn>.crt and <cn>.key for every simulated host
  --hosts N                 number of simulated hosts (default 1)
  --name-prefix P           host K has CN <P><K>.<domain> (default host)
  --domain D                (default example.test)
  --first-index K           number of the first host (default 1)
  --ca FILE                 CA for the broker and the job URLs (default: system CAs)
  --mqtt-cert F --mqtt-key F  client certificate for the broker connections
  --mqtt-host-certs         one broker connection per host with the host's own certificate,
                            client id = CN (what yggd does; needed with the installer's ACL)
  --hosts-per-connection K  hosts sharing one broker connection, 0 = all (default 0)
  --concurrency N           scripts running at once in this process (default 32)
  --data-host HOST:PORT     rewrite the host:port of job and update URLs (yggd data-host)
  --yggd 0.4|0.2            fetch-status handling: 0.4 runs any non-empty body whatever the
                            status, 0.2 drops answers >= 400 (default 0.4)
  --batch-size N            updates per POST before sending (default 32)
  --batch-seconds S         send when more than S seconds passed at the next update (default 15)
  --http-timeout S          per-request timeout of job fetches and update posts (default 60)
  --workdir DIR             where script temp files are written (default: the OS temp dir)
  --reconnect-ms N          broker reconnect interval (default 1000)
  --keepalive S             MQTT keepalive (default 30)
  --emulate-scripts         run scripts made only of echo lines and exit N in process, without
                            forking /bin/sh (others still fork); for benches of the daemon
  --json-events             one JSON line per event on stdout
  --quiet                   no text log on stderr`;

function integer(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer >= ${min}: ${value}`);
  return n;
}

function seconds(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name}: expected seconds >= 0: ${value}`);
  return n;
}

export function parseSimHostArgs(argv: string[]): SimHostOptions {
  const raw = parseLongOptions(argv, FLAG_OPTIONS, VALUE_OPTIONS);

  const broker = raw.get('broker');
  if (!broker) throw new UsageError('--broker is required');
  let url: URL;
  try {
    url = new URL(broker);
  } catch {
    throw new UsageError(`--broker: not a URL: ${broker}`);
  }
  if (url.protocol !== 'mqtt:' && url.protocol !== 'mqtts:') throw new UsageError('--broker must be mqtt:// or mqtts://');
  const certDir = raw.get('cert-dir');
  if (!certDir) throw new UsageError('--cert-dir is required');
  if (raw.has('mqtt-cert') !== raw.has('mqtt-key')) throw new UsageError('--mqtt-cert and --mqtt-key go together');
  const mqttHostCerts = raw.get('mqtt-host-certs') === 'true';
  if (mqttHostCerts && raw.has('mqtt-cert')) throw new UsageError('--mqtt-host-certs and --mqtt-cert exclude each other');
  const yggd = raw.get('yggd') ?? '0.4';
  if (yggd !== '0.4' && yggd !== '0.2') throw new UsageError('--yggd must be 0.4 or 0.2');
  const dataHost = raw.get('data-host');
  if (dataHost !== undefined && !/^[^/:\s]+:\d+$|^\[[0-9a-fA-F:.]+\]:\d+$/.test(dataHost)) {
    throw new UsageError(`--data-host: expected HOST:PORT: ${dataHost}`);
  }

  return {
    broker,
    ca: raw.get('ca'),
    mqttCert: raw.get('mqtt-cert'),
    mqttKey: raw.get('mqtt-key'),
    mqttHostCerts,
    hosts: integer('hosts', raw.get('hosts') ?? '1', 1),
    namePrefix: raw.get('name-prefix') ?? 'host',
    domain: raw.get('domain') ?? 'example.test',
    firstIndex: integer('first-index', raw.get('first-index') ?? '1', 0),
    certDir,
    hostsPerConnection: integer('hosts-per-connection', raw.get('hosts-per-connection') ?? '0', 0),
    concurrency: integer('concurrency', raw.get('concurrency') ?? '32', 1),
    dataHost,
    yggd,
    batchSize: integer('batch-size', raw.get('batch-size') ?? '32', 1),
    batchSeconds: seconds('batch-seconds', raw.get('batch-seconds') ?? '15'),
    httpTimeoutMs: Math.round(seconds('http-timeout', raw.get('http-timeout') ?? '60') * 1000) || 60_000,
    workdir: raw.get('workdir'),
    reconnectMs: integer('reconnect-ms', raw.get('reconnect-ms') ?? '1000', 1),
    keepaliveSeconds: integer('keepalive', raw.get('keepalive') ?? '30', 0),
    jsonEvents: raw.get('json-events') === 'true',
    quiet: raw.get('quiet') === 'true',
    emulateScripts: raw.get('emulate-scripts') === 'true',
  };
}

/** CN (= MQTT topic id = job-server identity) of the host numbered k. */
export function hostName(opts: Pick<SimHostOptions, 'namePrefix' | 'domain'>, k: number): string {
  return `${opts.namePrefix}${k}.${opts.domain}`;
}
