// POST /tftp/fetch_boot_file: validate and name the target synchronously (errors are 400s),
// then download in the background like SP's HttpDownload, so the caller always gets 200 first.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname, resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { SimContext } from './context.js';
import { rubyString } from './params.js';
import { mkdirP, RubyError } from './ruby-errors.js';

const MAX_REDIRECTS = 5;
/** SP's tftp_connect_timeout; used as the idle timeout of the transfer. */
const TIMEOUT_MS = 10_000;

/** Ruby's String#split drops trailing empty fields; [-1] of nothing is nil. */
function lastSegment(src: string): string | undefined {
  const parts = src.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts[parts.length - 1];
}

function bootFilename(prefix: string, src: string): string {
  const base = lastSegment(src);
  if (base === undefined) throw new RubyError('no implicit conversion of nil into String');
  return prefix.endsWith('/') ? prefix + base : prefix + '-' + base;
}

const URI_CHARS = /^[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=%]*$/;

/** Validates, creates the parent directory, starts the download; throws RubyError for a 400. */
export function fetchBootFile(ctx: SimContext, prefix: string | undefined, src: string | undefined): void {
  if (prefix === undefined) throw new RubyError("undefined method `end_with?' for nil:NilClass");
  if (src === undefined) throw new RubyError("undefined method `split' for nil:NilClass");
  const root = resolve(ctx.tftproot);
  const destination = resolve(root, bootFilename(prefix, src));
  // SP compares cleaned path strings, so a sibling like "<root>2/x" would slip through too.
  if (!destination.startsWith(root)) throw new RubyError('TFTP destination outside of tftproot');
  mkdirP(dirname(destination));

  if (!URI_CHARS.test(src)) throw new RubyError(`bad URI(is not URI?): ${rubyString(src)}`);
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(src)?.[1];
  const log = (level: 'DEBUG' | 'INFO' | 'ERROR', msg: string) => ctx.logs.push(level, msg);
  switch (scheme) {
    case 'http':
    case 'https':
    case 'ftp':
      log('INFO', `TFTP: Downloading ${src} to ${destination}`);
      download(ctx, src, destination, 0)
        .then((status) => log('INFO', `TFTP: ${destination} download finished with ${status}`))
        .catch((err: Error) => log('ERROR', `TFTP: Failed to download ${src}: ${err.message}`));
      return;
    case 'nfs':
      log('DEBUG', 'NFS as a protocol for installation medium detected.');
      return;
    default:
      throw new RubyError(`Cannot fetch boot file, unknown protocol for medium source path: ${src}`);
  }
}

function download(ctx: SimContext, src: string, destination: string, hops: number): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const url = new URL(src);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      reject(new Error(`unsupported protocol ${url.protocol}`));
      return;
    }
    const headers: Record<string, string> = {};
    // curl --time-cond: an existing file is only replaced by something newer.
    if (existsSync(destination)) headers['If-Modified-Since'] = statSync(destination).mtime.toUTCString();
    const ca = ctx.options.sslCaFile ? [...rootCertificates, readFileSync(ctx.options.sslCaFile, 'utf8')] : undefined;
    const client = url.protocol === 'https:' ? https : http;
    const req = client.get(url, { headers, timeout: TIMEOUT_MS, ca }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location && hops < MAX_REDIRECTS) {
        res.resume();
        download(ctx, new URL(location, url).toString(), destination, hops + 1).then(resolvePromise, reject);
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        if (status >= 200 && status < 300) {
          try {
            writeFileSync(destination, Buffer.concat(chunks));
          } catch (err) {
            reject(err as Error);
            return;
          }
          resolvePromise(status);
        } else if (status === 304) {
          resolvePromise(status);
        } else {
          reject(new Error(`The requested URL returned error: ${status}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('Operation timed out')));
    req.on('error', reject);
  });
}
