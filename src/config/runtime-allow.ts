// What runtime_api.allow accepts: an IP address, a CIDR or a client-certificate CN. Checked in
// code rather than by a schema pattern so that a mistake gets a message saying which part is
// wrong (a prefix too long for its address family, an address that is not one).
import { isIP } from 'node:net';

export const ALLOW_ENTRY_MESSAGE =
  'must be an IP address, a CIDR such as 10.0.0.0/8 or fd00::/8, or a client-certificate CN (a host name)';

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?$/;

/** Why `value` is not a valid runtime_api.allow entry, or undefined when it is one. */
export function allowEntryProblem(value: string): string | undefined {
  const slash = value.indexOf('/');
  if (slash >= 0) return cidrProblem(value.slice(0, slash), value.slice(slash + 1));
  if (isIP(value) !== 0 || isHostLike(value)) return undefined;
  return ALLOW_ENTRY_MESSAGE;
}

function cidrProblem(address: string, prefix: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return `is not a valid CIDR: '${address}' is not an IP address`;
  if (!/^[0-9]{1,3}$/.test(prefix)) return "is not a valid CIDR: the prefix length after '/' must be a number";
  const longest = family === 4 ? 32 : 128;
  if (Number(prefix) > longest) {
    return `is not a valid CIDR: an IPv${family} prefix length is at most ${longest} (got ${Number(prefix)})`;
  }
  return undefined;
}

function isHostLike(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split('.');
  // A name ending in digits only is a mistyped IPv4 address (10.0.0.256), not a host name.
  return labels.every((label) => label.length <= 63 && LABEL.test(label)) && !/^[0-9]+$/.test(labels[labels.length - 1]);
}
