// When Ruby's IPAddr.new(value, family) surely fails with `invalid address: ` (the text is
// empty after the colon because IPAddr names @addr before setting it). DNS create passes A and
// AAAA values through it. Inputs whose outcome is less clear (brackets, zone ids, zero-filled
// octets, which fail with other texts) are left for the backend to judge.

const IPV4_LIKE = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/;
const IPV6_FULL = /^(?:(?:[\da-f]{1,4}:){7}[\da-f]{1,4}|((?:[\da-f]{1,4}:){6})(\d+)\.(\d+)\.(\d+)\.(\d+))$/i;
const IPV6_COMPRESSED =
  /^((?:(?:[\da-f]{1,4}:)*[\da-f]{1,4})?)::((?:((?:[\da-f]{1,4}:)*)(?:[\da-f]{1,4}|(\d+)\.(\d+)\.(\d+)\.(\d+)))?)$/i;

type Verdict = 'invalid' | 'valid' | 'other';

/** IPAddr#in_addr over four decimal strings. */
function octets(parts: string[]): Verdict {
  for (const s of parts) {
    if (Number(s) >= 256) return 'invalid';
    if (s !== '0' && s.startsWith('0')) return 'other'; // "zero-filled number … is ambiguous"
  }
  return 'valid';
}

export function ipaddrInvalidAddress(value: string, family: 4 | 6): boolean {
  if (value.length > 200) return false;
  const slash = value.indexOf('/');
  const prefix = slash === -1 ? value : value.slice(0, slash);
  if (/[[\]%]/.test(prefix)) return false;
  if (family === 4) {
    const m = IPV4_LIKE.exec(prefix);
    return m !== null && octets(m.slice(1, 5)) === 'invalid';
  }
  const full = IPV6_FULL.exec(prefix);
  if (full) return full[2] !== undefined && octets(full.slice(2, 6)) === 'invalid';
  const comp = IPV6_COMPRESSED.exec(prefix);
  if (!comp) return true;
  const colons = prefix.split(':').length - 1;
  if (comp[4] !== undefined) return colons > 6 || octets(comp.slice(4, 8)) === 'invalid';
  return colons > (comp[1] === '' || comp[2] === '' ? 8 : 7);
}
