// SRV record values ("priority weight port target") as validate_srv_value! judges them. Every
// failure there becomes "Invalid DNS SRV value <value>"; a number in a form whose Ruby
// Integer() reading is not obvious (octal, hex, underscores) is left to the backend.
import { isDnsName } from './dns-name.js';

type Judgement = 'bad' | 'good' | 'unsure';

function integerIn(token: string, min: number, max: number): Judgement {
  if (/^[+-]?(?:0|[1-9][0-9]*)$/.test(token)) {
    const n = Number(token);
    return n >= min && n <= max ? 'good' : 'bad';
  }
  if (/^[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oOdD]?[0-9_]+|[0-9][0-9_]*)$/.test(token)) return 'unsure';
  return 'bad';
}

/** True when the smart proxy surely answers "Invalid DNS SRV value <value>". */
export function srvValueSurelyInvalid(value: string): boolean {
  const parts = value.split(/[ \t\n\v\f\r]+/).filter((p) => p !== '');
  if (parts.length !== 4) return true;
  const [priority, weight, port, target] = parts as [string, string, string, string];
  if (!isDnsName(target, 'SRV')) return true;
  const verdicts = [integerIn(priority, 0, 65535), integerIn(weight, 0, 65535), integerIn(port, 1, 65535)];
  return verdicts.includes('bad');
}
