// Command line of `npm run bench`.
export const SECTIONS = ['passthrough', 'fanout', 'failover', 'round-robin', 'footprint', 'profile', 'rex-scale', 'cluster', 'soak'] as const;
export type SectionName = (typeof SECTIONS)[number];
/** Long runs that only --only starts. */
export const NOT_BY_DEFAULT: ReadonlySet<SectionName> = new Set(['soak']);

export const USAGE = `usage: npm run bench -- [--quick] [--only ${SECTIONS.join(',')}] [--no-haproxy] [--no-install] [--rex-hosts N,…] [--rex-state sqlite,postgresql] [--rex-profile] [--soak-minutes N] [--write] [--json FILE]
  --quick       tiny sizes, one round: checks the harness, numbers are rough
  --only LIST   run only these sections (comma-separated, or repeat the flag)
  --no-haproxy  leave HAProxy out of the pass-through comparison
  --no-install  never apt-get install wrk, haproxy or mosquitto
  --rex-hosts N,…  fleet sizes of the rex-scale section (default 1000,10000; quick 50)
  --rex-state LIST  state drivers of rex-scale's in-process run at its largest size (default
                sqlite,postgresql: the same fleet on each, the time compared)
  --rex-profile one more rex-scale run at the largest size with the daemon under --cpu-prof
  --soak-minutes N  length of the soak section (default 30; quick 3). The soak runs only when
                named: --only soak
  --write       put the results into BENCHMARKS.md (full runs only; with --only, just those
                sections and their verdicts are replaced)
  --json FILE   also write the raw results as JSON`;

export interface CliOptions {
  quick: boolean;
  only: Set<SectionName> | undefined;
  haproxy: boolean;
  install: boolean;
  write: boolean;
  json: string | undefined;
  rexHosts: number[] | undefined;
  rexProfile: boolean;
  rexState: ('sqlite' | 'postgresql')[] | undefined;
  soakMinutes: number | undefined;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[]): CliOptions {
  const o: CliOptions = { quick: false, only: undefined, haproxy: true, install: true, write: false, json: undefined, rexHosts: undefined, rexProfile: false, rexState: undefined, soakMinutes: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--only') {
      o.only ??= new Set();
      for (const name of value().split(',')) {
        if (!(SECTIONS as readonly string[]).includes(name)) throw new UsageError(`unknown section ${name}`);
        o.only.add(name as SectionName);
      }
    } else if (a === '--no-haproxy') o.haproxy = false;
    else if (a === '--no-install') o.install = false;
    else if (a === '--write') o.write = true;
    else if (a === '--json') o.json = value();
    else if (a === '--rex-profile') o.rexProfile = true;
    else if (a === '--rex-state') {
      const drivers = value().split(',');
      for (const d of drivers) if (d !== 'sqlite' && d !== 'postgresql') throw new UsageError(`--rex-state: not a state driver: ${d} (sqlite, postgresql)`);
      o.rexState = drivers as ('sqlite' | 'postgresql')[];
    }
    else if (a === '--soak-minutes') {
      const n = Number(value());
      if (!Number.isFinite(n) || n < 2 || n > 24 * 60) throw new UsageError('--soak-minutes: a number of minutes from 2 to 1440');
      o.soakMinutes = n;
    }
    else if (a === '--rex-hosts') {
      o.rexHosts = value()
        .split(',')
        .map((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 1) throw new UsageError(`--rex-hosts: not a host count: ${v}`);
          return n;
        });
    }
    else throw new UsageError(`unknown argument ${a}`);
  }
  if (o.write && (o.quick || o.rexHosts)) throw new UsageError('--write keeps only full runs (no --quick, no --rex-hosts)');
  return o;
}
