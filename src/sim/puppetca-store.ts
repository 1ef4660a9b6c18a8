// The simulated Puppet CA: certificates by name and the autosign list.
import { createHash } from 'node:crypto';

export interface CertEntry {
  state: 'pending' | 'valid' | 'revoked';
  fingerprint: string;
  serial: number | null;
  not_before: string | null;
  not_after: string | null;
}

function fingerprint(name: string, serial: number): string {
  const hex = createHash('sha256').update(`${name}#${serial}`).digest('hex').toUpperCase();
  return 'SHA256 ' + hex.match(/../g)!.join(':');
}

export class PuppetCaStore {
  certs = new Map<string, CertEntry>();
  autosign: string[] = [];
  private nextSerial = 1;

  constructor() {
    this.reset();
  }

  /** A CA that has signed its own server and holds one pending request. */
  reset(): void {
    this.certs.clear();
    this.autosign = [];
    this.nextSerial = 1;
    this.issue('puppet.example.test');
    this.certs.set('pending.example.test', {
      state: 'pending',
      fingerprint: fingerprint('pending.example.test', 0),
      serial: null,
      not_before: null,
      not_after: null,
    });
  }

  issue(name: string): void {
    const serial = this.nextSerial++;
    const now = new Date();
    const end = new Date(now);
    end.setUTCFullYear(end.getUTCFullYear() + 5);
    this.certs.set(name, {
      state: 'valid',
      fingerprint: fingerprint(name, serial),
      serial,
      not_before: now.toISOString().replace(/\.\d+Z$/, 'UTC'),
      not_after: end.toISOString().replace(/\.\d+Z$/, 'UTC'),
    });
  }

  snapshot(): Record<string, unknown> {
    return { certificates: Object.fromEntries(this.certs), autosign: [...this.autosign] };
  }
}
