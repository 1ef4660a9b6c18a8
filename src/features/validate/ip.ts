// IP address syntax as Ruby's Resolv::IPv4::Regex and Resolv::IPv6::Regex define it, which is
// what Proxy::Validations#validate_ip checks (DHCP). Octets have no leading zeros; IPv6 allows
// the compressed, embedded-IPv4 and fe80::…%zone forms.

const OCTET = '(?:0|1(?:[0-9][0-9]?)?|2(?:[0-4][0-9]?|5[0-5]?|[6-9])?|[3-9][0-9]?)';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

const H = '[0-9A-Fa-f]{1,4}';
const HEX_SEQ = `(?:${H}(?::${H})*)?`;
const IPV6_FORMS = [
  `^(?:${H}:){7}${H}$`,
  `^${HEX_SEQ}::${HEX_SEQ}$`,
  `^(?:${H}:){6}\\d+\\.\\d+\\.\\d+\\.\\d+$`,
  `^${HEX_SEQ}::(?:${H}:)*\\d+\\.\\d+\\.\\d+\\.\\d+$`,
  `^[Ff][Ee]80(?::${H}){7}%[-0-9A-Za-z._~]+$`,
  `^[Ff][Ee]80:(?:${HEX_SEQ}::${HEX_SEQ}|:${HEX_SEQ})?%[-0-9A-Za-z._~]+$`,
].map((s) => new RegExp(s));

export function isIPv4(s: string | undefined): s is string {
  return s !== undefined && IPV4.test(s);
}

export function isIPv6(s: string | undefined): s is string {
  // Longer than any address form: not worth running the expressions on.
  return s !== undefined && s.length <= 200 && IPV6_FORMS.some((re) => re.test(s));
}

export function isIp(s: string | undefined): s is string {
  return isIPv4(s) || isIPv6(s);
}
