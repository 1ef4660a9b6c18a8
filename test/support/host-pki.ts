// Client certificates for many simulated hosts, named the way `sim-host --cert-dir` expects
// (<cn>.crt / <cn>.key, CN <prefix><k>.<domain>), signed by a test CA (test/support/pki.ts).
// EC P-256, one openssl process per host on OpenSSL 3 (req -x509 -CA), a bounded number at once.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface HostCertOptions {
  count: number;
  /** Where <cn>.crt and <cn>.key go (created if missing). */
  dir: string;
  prefix?: string;
  domain?: string;
  first?: number;
  /** openssl processes at once (default: CPUs, at most 8). */
  parallelism?: number;
}

export interface CaFiles {
  caCert: string;
  caKey: string;
}

export function hostCn(k: number, prefix = 'host', domain = 'example.test'): string {
  return `${prefix}${k}.${domain}`;
}

// A config of our own: the system one would add CA:TRUE extensions to `req -x509` output.
const REQ_CONFIG = `[req]
distinguished_name = dn
prompt = no
x509_extensions = host_ext
req_extensions = host_ext
[dn]
CN = unused
[host_ext]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth,serverAuth
`;

let opensslMajor: Promise<number> | undefined;

function major(): Promise<number> {
  opensslMajor ??= run('openssl', ['version']).then(({ stdout }) => Number(/OpenSSL (\d+)/.exec(stdout)?.[1] ?? 1));
  return opensslMajor;
}

async function issueOne(ca: CaFiles, dir: string, config: string, cn: string): Promise<void> {
  const key = join(dir, `${cn}.key`);
  const cert = join(dir, `${cn}.crt`);
  const subj = ['-subj', `/CN=${cn}`, '-sha256', '-config', config];
  if ((await major()) >= 3) {
    await run('openssl', [
      'req', '-new', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', key, '-out', cert, '-CA', ca.caCert, '-CAkey', ca.caKey, '-days', '825', ...subj,
    ]);
    return;
  }
  // OpenSSL 1.1: key, CSR, then sign; an explicit serial because parallel runs would race on ca.srl.
  const csr = join(dir, `${cn}.csr`);
  await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await run('openssl', ['req', '-new', '-key', key, '-out', csr, ...subj]);
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', ca.caCert, '-CAkey', ca.caKey, '-set_serial', '0x' + randomBytes(8).toString('hex'),
    '-days', '825', '-sha256', '-extfile', config, '-extensions', 'host_ext', '-out', cert,
  ]);
}

/** Issues hosts first … first+count-1; resolves with their CNs in order. */
export async function issueHostCerts(ca: CaFiles, opts: HostCertOptions): Promise<string[]> {
  mkdirSync(opts.dir, { recursive: true });
  const config = join(opts.dir, '.host-req.cnf');
  writeFileSync(config, REQ_CONFIG);
  const first = opts.first ?? 1;
  const names = Array.from({ length: opts.count }, (_, i) => hostCn(first + i, opts.prefix, opts.domain));
  const width = Math.max(1, opts.parallelism ?? Math.min(8, availableParallelism()));
  let next = 0;
  const lane = async () => {
    while (next < names.length) await issueOne(ca, opts.dir, config, names[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, names.length) }, lane));
  return names;
}
