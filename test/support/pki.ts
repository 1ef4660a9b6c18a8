// A throw-away PKI for TLS tests, made with the openssl CLI: one CA, certificates issued on
// demand (EC P-256, fast), and a second, untrusted CA for "unknown ca" cases.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCert {
  cert: string;
  key: string;
}

export interface IssueOptions {
  /** Adds SAN DNS:localhost, IP:127.0.0.1 (plus altNames) and serverAuth. */
  server?: boolean;
  /** Extra SANs: "DNS:x", "IP:y", or a bare name / address. */
  altNames?: string[];
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  issue(cn: string, opts?: IssueOptions): Promise<IssuedCert>;
  /** A client certificate from a CA nobody trusts. */
  issueFromOtherCa(cn: string): Promise<IssuedCert>;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args);
}

async function makeCa(dir: string, name: string): Promise<{ cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const key = join(dir, 'ca.key');
  const cert = join(dir, 'ca.crt');
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await openssl([
    'req', '-x509', '-new', '-key', key, '-sha256', '-days', '3650', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', cert,
  ]);
  return { cert, key };
}

function san(name: string): string {
  if (/^(DNS|IP|URI|email):/.test(name)) return name;
  return isIP(name) ? `IP:${name}` : `DNS:${name}`;
}

let counter = 0;

async function issueWith(ca: { cert: string; key: string }, dir: string, cn: string, opts: IssueOptions): Promise<IssuedCert> {
  const base = join(dir, `${cn.replace(/[^A-Za-z0-9_.-]/g, '_')}-${++counter}`);
  const key = `${base}.key`;
  const csr = `${base}.csr`;
  const cert = `${base}.crt`;
  const ext = `${base}.ext`;
  const lines = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment'];
  if (opts.server) {
    lines.push('extendedKeyUsage=serverAuth,clientAuth');
    lines.push('subjectAltName=' + ['DNS:localhost', 'IP:127.0.0.1', ...(opts.altNames ?? []).map(san)].join(','));
  } else {
    lines.push('extendedKeyUsage=clientAuth,serverAuth');
    if (opts.altNames?.length) lines.push('subjectAltName=' + opts.altNames.map(san).join(','));
  }
  writeFileSync(ext, lines.join('\n') + '\n');
  await openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
  await openssl(['req', '-new', '-key', key, '-subj', `/CN=${cn}`, '-out', csr]);
  await openssl([
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-sha256', '-days', '825',
    '-set_serial', '0x' + randomBytes(8).toString('hex'), '-extfile', ext, '-out', cert,
  ]);
  return { cert, key };
}

export async function createPki(dir?: string): Promise<Pki> {
  const root = dir ?? mkdtempSync(join(tmpdir(), 'proxy-proxy-pki-'));
  mkdirSync(root, { recursive: true });
  const ca = await makeCa(join(root, 'ca'), 'proxy-proxy test CA');
  let other: Promise<{ cert: string; key: string }> | undefined;
  return {
    dir: root,
    caCert: ca.cert,
    caKey: ca.key,
    issue: (cn, opts = {}) => issueWith(ca, root, cn, opts),
    async issueFromOtherCa(cn) {
      other ??= makeCa(join(root, 'other-ca'), 'untrusted test CA');
      return issueWith(await other, join(root, 'other-ca'), cn, {});
    },
  };
}
