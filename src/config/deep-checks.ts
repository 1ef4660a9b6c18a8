// What check-config verifies beyond the file's shape: certificate files readable and matching
// their keys, CA bundles parseable, listener ports free. Errors make the file unusable; a port
// already in use is a warning (it is, when proxy-proxy itself is running).
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Config } from './types.js';

export interface DeepFinding {
  level: 'error' | 'warning';
  path: string;
  message: string;
}

type TlsKey = 'ssl_certificate' | 'ssl_private_key' | 'ssl_ca_file';

interface TlsTriple {
  path: string;
  ssl_certificate?: string;
  ssl_private_key?: string;
  ssl_ca_file?: string;
  /** The keys' names in the file where they differ (foreman_ssl_cert, …). */
  names?: Record<TlsKey, string>;
}

/** Every object in the config that names certificate files, with its dotted path. */
function tlsTriples(node: unknown, path: string, out: TlsTriple[]): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
  const o = node as Record<string, unknown>;
  if (typeof o.ssl_certificate === 'string' || typeof o.ssl_private_key === 'string' || typeof o.ssl_ca_file === 'string') {
    out.push({ path, ...(o as Omit<TlsTriple, 'path'>) });
  }
  for (const [k, v] of Object.entries(o)) if (k !== 'source') tlsTriples(v, path ? `${path}.${k}` : k, out);
}

function readable(file: string): Buffer | string {
  try {
    return readFileSync(file);
  } catch (err) {
    return `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

function checkTls(t: TlsTriple, out: DeepFinding[]): void {
  const at = (key: TlsKey) => {
    const name = t.names?.[key] ?? key;
    return t.path ? `${t.path}.${name}` : name;
  };
  let cert: X509Certificate | undefined;
  if (t.ssl_certificate) {
    const pem = readable(t.ssl_certificate);
    if (typeof pem === 'string') out.push({ level: 'error', path: at('ssl_certificate'), message: pem });
    else {
      try {
        cert = new X509Certificate(pem);
        if (new Date(cert.validTo) < new Date()) out.push({ level: 'error', path: at('ssl_certificate'), message: `expired on ${cert.validTo}` });
      } catch (err) {
        out.push({ level: 'error', path: at('ssl_certificate'), message: `not a PEM certificate: ${(err as Error).message}` });
      }
    }
  }
  if (t.ssl_private_key) {
    const pem = readable(t.ssl_private_key);
    if (typeof pem === 'string') out.push({ level: 'error', path: at('ssl_private_key'), message: pem });
    else {
      try {
        const key = createPrivateKey(pem);
        if (cert && !cert.checkPrivateKey(key)) {
          out.push({ level: 'error', path: at('ssl_private_key'), message: `does not match the certificate ${t.ssl_certificate}` });
        }
      } catch (err) {
        out.push({ level: 'error', path: at('ssl_private_key'), message: `not a PEM private key: ${(err as Error).message}` });
      }
    }
  }
  if (t.ssl_ca_file) {
    const pem = readable(t.ssl_ca_file);
    if (typeof pem === 'string') out.push({ level: 'error', path: at('ssl_ca_file'), message: pem });
    else {
      try {
        new X509Certificate(pem);
      } catch (err) {
        out.push({ level: 'error', path: at('ssl_ca_file'), message: `not a PEM certificate bundle: ${(err as Error).message}` });
      }
    }
  }
}

function portFree(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    s.listen(port, host === '*' ? '::' : host, () => s.close(() => resolve(undefined)));
  });
}

export async function deepChecks(config: Config): Promise<DeepFinding[]> {
  const out: DeepFinding[] = [];
  const triples: TlsTriple[] = [];
  tlsTriples(config, '', triples);
  // The relays' files towards Foreman, under the smart proxy's names.
  const { foreman_ssl_cert: cert, foreman_ssl_key: key, foreman_ssl_ca: ca } = config;
  if (cert !== undefined || key !== undefined || ca !== undefined) {
    triples.push({
      path: '',
      ...(cert === undefined ? {} : { ssl_certificate: cert }),
      ...(key === undefined ? {} : { ssl_private_key: key }),
      ...(ca === undefined ? {} : { ssl_ca_file: ca }),
      names: { ssl_certificate: 'foreman_ssl_cert', ssl_private_key: 'foreman_ssl_key', ssl_ca_file: 'foreman_ssl_ca' },
    });
  }
  const rexOn = (config as { rex?: { enabled?: boolean } }).rex?.enabled === true;
  const seen = new Set<string>();
  for (const t of triples) {
    // Settings that default to the listener's files would only repeat its findings.
    const files = JSON.stringify([t.ssl_certificate, t.ssl_private_key, t.ssl_ca_file]);
    if ((!rexOn && t.path.startsWith('rex')) || seen.has(files)) continue;
    seen.add(files);
    checkTls(t, out);
  }
  for (const [key, port] of [['http_port', config.http_port], ['https_port', config.https_port]] as const) {
    if (port === undefined || port === 0) continue;
    for (const host of config.bind_host) {
      const busy = await portFree(host, port);
      if (busy === 'EADDRINUSE') out.push({ level: 'warning', path: key, message: `${host}:${port} is in use (by a running proxy-proxy?)` });
      else if (busy) out.push({ level: 'error', path: key, message: `cannot listen on ${host}:${port}: ${busy}` });
    }
  }
  return out;
}
