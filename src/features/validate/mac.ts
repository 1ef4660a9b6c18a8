// MAC addresses as Proxy::Validations#valid_mac? accepts them: six (or, for InfiniBand, twenty)
// colon-separated groups of one or two hex digits, any case. Dashes are not accepted.

const MAC_48BIT = /^(?:[a-f0-9]{1,2}:){5}[a-f0-9]{1,2}$/i;
const MAC_64BIT = /^(?:[a-f0-9]{1,2}:){19}[a-f0-9]{1,2}$/i;

export function isValidMac(mac: string | undefined): mac is string {
  return mac !== undefined && (MAC_48BIT.test(mac) || MAC_64BIT.test(mac));
}
