// Proxy::Validations#valid_mac?: 6 or 20 colon-separated octets of one or two hex digits.
const MAC_48 = /^([a-f0-9]{1,2}:){5}[a-f0-9]{1,2}$/i;
const MAC_64 = /^([a-f0-9]{1,2}:){19}[a-f0-9]{1,2}$/i;

export function isValidMac(mac: string | undefined | null): mac is string {
  return typeof mac === 'string' && (MAC_48.test(mac) || MAC_64.test(mac));
}
