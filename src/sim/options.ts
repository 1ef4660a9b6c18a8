// Command-line options of the simulated smart proxy (`proxy-proxy sim …` / dist/src/sim/main.js).
import { parseLongOptions, UsageError } from './long-options.js';

/** Every module the simulator implements, in the order the real proxy lists them in /v2/features. */
export const SIM_MODULES = [
  'facts',
  'dns',
  'templates',
  'tftp',
  'dhcp',
  'puppetca',
  'puppet',
  'bmc',
  'realm',
  'logs',
  'httpboot',
  'registration',
] as const;

/** Plugin modules: offered only when named in --features (a proxy without the gem lists none). */
export const SIM_PLUGINS = ['ansible', 'dynflow', 'openscap', 'script'] as const;
export type SimModule = (typeof SIM_MODULES)[number] | (typeof SIM_PLUGINS)[number];

export interface SimOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  controlPort: number;
  /** Extra HTTPS listener next to the plain API port (the recorded proxy had both). */
  httpsPort?: number;
  name: string;
  /** undefined = a fresh temporary directory, removed again on exit. */
  tftproot?: string;
  /** JSON file that keeps DHCP reservations across restarts; undefined = memory only. */
  dhcpState?: string;
  tftpServername: string;
  templateUrl?: string;
  foremanUrl?: string;
  registrationUrl?: string;
  version: string;
  features: Set<SimModule>;
  sslCertificate?: string;
  sslPrivateKey?: string;
  sslCaFile?: string;
  /** undefined = everyone is trusted; [] = nobody (smart-proxy semantics). */
  trustedHosts?: string[];
  dnsZones: string[];
  realm: string;
  /** Copy the request log to stderr. */
  verbose: boolean;
  /** dynflow: operations the fake runner registers besides `single`. */
  dynflowOperations: string[];
  /** dynflow: how long a fake task runs before it reports to Foreman, ms. */
  taskMs: number;
  /** ansible: directory with roles/<name>/ and playbooks/<name>.yml. */
  ansibleDir?: string;
  /** Extra capabilities per module in /v2/features (`--capabilities ansible:vcs_clone`). */
  extraCapabilities: Record<string, string[]>;
  /** At most this many API requests a second; undefined = no limit. */
  rateLimit?: number;
}

export { UsageError };

const VALUE_OPTIONS = new Set([
  'host',
  'port',
  'control-port',
  'https-port',
  'name',
  'tftproot',
  'dhcp-state',
  'tftp-servername',
  'template-url',
  'foreman-url',
  'registration-url',
  'version',
  'features',
  'ssl-certificate',
  'ssl-private-key',
  'ssl-ca-file',
  'trusted-hosts',
  'dns-zones',
  'realm',
  'dynflow-operations',
  'task-ms',
  'ansible-dir',
  'capabilities',
  'rate-limit',
]);
const FLAG_OPTIONS = new Set(['verbose']);

export const SIM_USAGE = `usage: sim [options]
  --host H                 listen address (default 127.0.0.1)
  --port N                 API port, 0 = any free port (default 0)
  --control-port N         control API port, 0 = any free port (default 0)
  --https-port N           additional HTTPS API listener (needs the --ssl-* files)
  --name NAME              name reported in the listening line
  --tftproot DIR           TFTP root, created if missing (default: fresh temp dir)
  --dhcp-state FILE        keep DHCP reservations in FILE across restarts (default: memory only)
  --tftp-servername S      exposed tftp_servername (default 192.0.2.1)
  --template-url URL       exposed template_url (default none)
  --foreman-url URL        upstream Foreman for templates/registration relays
  --registration-url URL   exposed registration_url (default none)
  --version V              proxy version (default 3.11.0-develop)
  --features a,b,...       enabled modules (default: all of ${SIM_MODULES.join(',')})
  --ssl-certificate F --ssl-private-key F --ssl-ca-file F
                           serve HTTPS (on the API port unless --https-port is given)
  --trusted-hosts a,b      smart-proxy trusted_hosts (default: unset = everyone)
  --dns-zones a,b          zones the DNS backend serves (default example.test,2.0.192.in-addr.arpa)
  --realm R                the realm the realm module manages (default EXAMPLE.TEST)
  --rate-limit N           serve at most N API requests a second; faster ones wait their turn (default: no limit)
  --verbose                copy request log lines to stderr
  plugin modules (only with --features naming them: ${SIM_PLUGINS.join(',')}):
  --dynflow-operations a,b dynflow operations the fake runner registers besides single (default ansible-runner)
  --task-ms N              how long a fake dynflow task runs before its callback to Foreman (default 100)
  --ansible-dir DIR        ansible roles (DIR/roles/<name>/defaults/main.yml) and playbooks (DIR/playbooks/*.yml)
  --capabilities m:c,...   extra capabilities a module reports in /v2/features (e.g. ansible:vcs_clone)`;

function parsePort(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--${name}: not a port: ${value}`);
  return n;
}

function parseCount(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name}: not a whole number: ${value}`);
  return n;
}

function parseRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--rate-limit: not a positive number of requests a second: ${value}`);
  return n;
}

function capabilities(value: string | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of list(value ?? '')) {
    const [module, cap] = item.split(':');
    if (!module || !cap) throw new UsageError(`--capabilities: expected module:capability, got ${item}`);
    (out[module] ??= []).push(cap);
  }
  return out;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function parseSimArgs(argv: string[]): SimOptions {
  const raw = parseLongOptions(argv, FLAG_OPTIONS, VALUE_OPTIONS);

  let features = new Set<SimModule>(SIM_MODULES);
  const featureList = raw.get('features');
  if (featureList !== undefined) {
    features = new Set();
    for (const f of list(featureList)) {
      if (!(SIM_MODULES as readonly string[]).includes(f) && !(SIM_PLUGINS as readonly string[]).includes(f)) throw new UsageError(`--features: unknown module ${f}`);
      features.add(f as SimModule);
    }
  }

  const ssl = ['ssl-certificate', 'ssl-private-key', 'ssl-ca-file'].filter((k) => raw.has(k));
  if (ssl.length !== 0 && ssl.length !== 3) {
    throw new UsageError('--ssl-certificate, --ssl-private-key and --ssl-ca-file go together');
  }
  if (raw.has('https-port') && ssl.length === 0) throw new UsageError('--https-port needs the --ssl-* files');

  const trusted = raw.get('trusted-hosts');
  const zones = raw.get('dns-zones');
  return {
    host: raw.get('host') ?? '127.0.0.1',
    port: parsePort('port', raw.get('port') ?? '0'),
    controlPort: parsePort('control-port', raw.get('control-port') ?? '0'),
    httpsPort: raw.has('https-port') ? parsePort('https-port', raw.get('https-port') as string) : undefined,
    name: raw.get('name') ?? 'sim',
    tftproot: raw.get('tftproot'),
    dhcpState: raw.get('dhcp-state'),
    tftpServername: raw.get('tftp-servername') ?? '192.0.2.1',
    templateUrl: raw.get('template-url'),
    foremanUrl: raw.get('foreman-url'),
    registrationUrl: raw.get('registration-url'),
    version: raw.get('version') ?? '3.11.0-develop',
    features,
    sslCertificate: raw.get('ssl-certificate'),
    sslPrivateKey: raw.get('ssl-private-key'),
    sslCaFile: raw.get('ssl-ca-file'),
    trustedHosts: trusted === undefined ? undefined : list(trusted).map((h) => h.toLowerCase()),
    dnsZones: zones === undefined ? ['example.test', '2.0.192.in-addr.arpa'] : list(zones),
    realm: raw.get('realm') ?? 'EXAMPLE.TEST',
    verbose: raw.has('verbose') && raw.get('verbose') !== 'false',
    dynflowOperations: list(raw.get('dynflow-operations') ?? 'ansible-runner'),
    taskMs: parseCount('task-ms', raw.get('task-ms') ?? '100'),
    ansibleDir: raw.get('ansible-dir'),
    extraCapabilities: capabilities(raw.get('capabilities')),
    rateLimit: parseRate(raw.get('rate-limit')),
  };
}
