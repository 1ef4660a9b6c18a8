// Host certificates kept between bench runs: issuing 10,000 (an openssl process each) takes
// minutes, and they depend on nothing but a CA of their own. The cache holds that CA and
// <cn>.crt / <cn>.key for host1 … hostN; a run issues only the hosts it lacks. The daemon trusts
// the cache's CA beside the run's own (ssl_ca_file is a bundle of both), so everything else of
// the run (proxy, Foreman, broker, MQTT identities) is still issued afresh.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostCn, issueHostCerts } from '../test/support/host-pki.js';

const run = promisify(execFile);

/** Outside the bench's own temp dirs (pp-bench-*), which every run removes. */
export const HOST_CERT_CACHE = join(tmpdir(), 'proxy-proxy-bench-host-certs');

export interface CachedHostCerts {
  caCert: string;
  /** <cn>.crt / <cn>.key of host1 … hostN. */
  dir: string;
  /** Issued by this call (0: all came from the cache). */
  issued: number;
}

async function ensureCa(root: string): Promise<{ caCert: string; caKey: string }> {
  const ca = join(root, 'ca');
  if (!existsSync(join(ca, 'ca.crt'))) {
    mkdirSync(root, { recursive: true });
    // Made aside and renamed into place: a run stopped half-way leaves no CA without its key.
    const tmp = mkdtempSync(join(root, '.ca-'));
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(tmp, 'ca.key')]);
    await run('openssl', [
      'req', '-x509', '-new', '-key', join(tmp, 'ca.key'), '-sha256', '-days', '3650', '-subj', '/CN=proxy-proxy bench host CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', join(tmp, 'ca.crt'),
    ]);
    try {
      renameSync(tmp, ca);
    } catch {
      // Another run made it meanwhile: use that one.
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { caCert: join(ca, 'ca.crt'), caKey: join(ca, 'ca.key') };
}

/** host1 … host`hosts`, from the cache where there, else issued now (and kept). */
export async function cachedHostCerts(hosts: number, parallelism: number, root = HOST_CERT_CACHE): Promise<CachedHostCerts> {
  const ca = await ensureCa(root);
  const dir = join(root, 'hosts');
  mkdirSync(dir, { recursive: true });
  const have = new Set(readdirSync(dir));
  const missing: number[] = [];
  for (let k = 1; k <= hosts; k++) if (!have.has(`${hostCn(k)}.crt`) || !have.has(`${hostCn(k)}.key`)) missing.push(k);
  if (missing.length > 0) {
    // Issued aside, then each pair renamed in, key first: a cut-short run leaves whole pairs only.
    const tmp = mkdtempSync(join(root, '.issue-'));
    try {
      const first = missing[0]!;
      const count = missing.at(-1)! - first + 1;
      await issueHostCerts(ca, { count, first, dir: tmp, parallelism });
      for (let k = first; k < first + count; k++) {
        const cn = hostCn(k);
        renameSync(join(tmp, `${cn}.key`), join(dir, `${cn}.key`));
        renameSync(join(tmp, `${cn}.crt`), join(dir, `${cn}.crt`));
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  return { caCert: ca.caCert, dir, issued: missing.length === 0 ? 0 : missing.at(-1)! - missing[0]! + 1 };
}
