// POST /tftp/fetch_boot_file checks, in SP's order: the file name is built from prefix and
// source (boot_filename), must stay under tftproot, and the source scheme must be one SP can
// download (http, https, ftp; nfs is accepted and ignored). Undefined answers mean Ruby would
// fail in some other way or the outcome depends on the backend: the backend decides.
import { escapesRoot } from './path-safety.js';

/** Ruby: dst.end_with?('/') ? dst + base : dst + '-' + base, base = src.split('/')[-1]. */
export function bootFileName(prefix: string, source: string): string | undefined {
  const parts = source.split('/');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  const base = parts[parts.length - 1];
  if (base === undefined) return undefined;
  return prefix.endsWith('/') ? prefix + base : `${prefix}-${base}`;
}

/**
 * Whether the file lands outside tftproot. Names starting with '/' or '~' resolve against
 * something other than tftproot (File.expand_path), so only the backend knows.
 */
export function bootFileOutsideRoot(fileName: string): boolean | undefined {
  if (fileName.startsWith('/') || fileName.startsWith('~')) return undefined;
  return escapesRoot(fileName);
}

const KNOWN_SCHEMES = new Set(['http', 'https', 'ftp', 'nfs']);
const PATH_CHAR = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})";
const QUERY_CHAR = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})";
/** scheme://host[:port][/path][?query]: a shape Ruby's RFC 3986 parser surely accepts. */
const WITH_SCHEME = new RegExp(
  `^([A-Za-z][A-Za-z0-9+.-]*)://[A-Za-z0-9\\-._~]+(?::[0-9]*)?(?:/${PATH_CHAR}*)?(?:\\?${QUERY_CHAR}*)?$`,
);
/** A relative reference without ':' (which would make its first segment a scheme). */
const NO_SCHEME = /^(?!\/\/)(?:[A-Za-z0-9\-._~!$&'()*+,;=@/]|%[0-9A-Fa-f]{2})+$/;

/** True when URI(source).scheme is surely none of the protocols SP fetches from. */
export function unknownBootSourceScheme(source: string): boolean {
  const m = WITH_SCHEME.exec(source);
  if (m) return !KNOWN_SCHEMES.has(m[1]!.toLowerCase());
  return NO_SCHEME.test(source);
}
