// /puppet/ca: an in-memory Puppet CA with an autosign list (SP modules/puppetca/puppetca_api.rb,
// hostname_whitelisting autosign, puppetca_http_api certificates).
import { createHash } from 'node:crypto';
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { halt, ok, okJson, CT_JSON } from './headers.js';

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

export function puppetcaRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const store = ctx.puppetca;
  r.use(gate(ctx.options.trustedHosts));

  r.get('/', (_req, res) => okJson(res, Object.fromEntries(store.certs)));
  r.get('/autosign', (_req, res) => okJson(res, store.autosign));

  r.post('/autosign/:certname', (_req, res) => {
    const { certname } = _req.params;
    if (!store.autosign.includes(certname)) store.autosign.push(certname);
    ok(res, '', CT_JSON);
  });

  r.delete('/autosign/:certname', (req, res) => {
    const { certname } = req.params;
    if (!store.autosign.includes(certname)) {
      return halt(req, res, 404, `Attempt to remove nonexistant client autosign for ${certname}`, { json: true });
    }
    store.autosign = store.autosign.filter((n) => n !== certname);
    ok(res, '', CT_JSON);
  });

  r.post('/:certname', (req, res) => {
    const { certname } = req.params;
    if (store.certs.get(certname)?.state !== 'pending') {
      return halt(req, res, 406, `Failed to sign certificate(s) for ${certname}: No pending certificate request for ${certname}`, {
        json: true,
      });
    }
    store.issue(certname);
    ok(res, '', CT_JSON);
  });

  // Revoke and clean; puppetserver's 404 for an unknown name is tolerated by puppetca_http_api.
  r.delete('/:certname', (req, res) => {
    store.certs.delete(req.params.certname);
    ok(res, '', CT_JSON);
  });

  return r;
}
