// DNS names as the smart proxy's DNS API checks them (validate_dns_name!,
// validate_srv_name!, validate_reverse_dns_name!). Ruby's ^ and $ anchor at line breaks, so a
// value passes when any one of its lines does; the expressions here are linear rewrites of
// SP's nested-quantifier ones and accept the same strings.

const HOST_NAME = /^[a-zA-Z0-9][-a-zA-Z0-9]*(?:\.[a-zA-Z0-9][-a-zA-Z0-9]*)*\.?$/;
const SRV_NAME = /^[a-zA-Z0-9_][-a-zA-Z0-9_]*(?:\.[a-zA-Z0-9_][-a-zA-Z0-9_]*)*\.?$/;
const REVERSE_SUFFIX = /\.(?:in-addr|ip6)\.arpa$/;

function someLine(value: string, re: RegExp): boolean {
  return value.split('\n').some((line) => re.test(line));
}

/** validate_dns_name!(name, type): SRV names may contain '_'. */
export function isDnsName(name: string, type: string | undefined): boolean {
  return someLine(name, type === 'SRV' ? SRV_NAME : HOST_NAME);
}

/** The reverse-zone part of validate_reverse_dns_name! (checked after isDnsName). */
export function hasReverseSuffix(name: string): boolean {
  return someLine(name, REVERSE_SUFFIX);
}

/** DELETE without a type: PTR for reverse names, else A. */
export function defaultDeleteType(name: string): 'PTR' | 'A' {
  return name.endsWith('.in-addr.arpa') || name.endsWith('.ip6.arpa') ? 'PTR' : 'A';
}
