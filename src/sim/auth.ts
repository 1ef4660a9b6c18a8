// SP's authorize_with_trusted_hosts + authorize_with_ssl_client (lib/sinatra/authorization.rb),
// run as a before-filter of a gated module: it answers 403 before any route (or 404) is looked at.
import type { Request, RequestHandler, Response } from 'express';
import { halt } from './headers.js';
import { rubyString } from './params.js';
import { requestState } from './request-state.js';

/** The raw request path below the module's mount point ('' for the module root itself). */
export function pathBelowMount(req: Request): string {
  const path = req.originalUrl.split('?')[0];
  return path.slice(req.baseUrl.length);
}

/**
 * Reverse DNS as the recorded proxy saw it: loopback resolves to `localhost`. The simulator
 * does no DNS, so any other address stands for itself (forward_verify is off).
 */
export function reverseName(ip: string): string {
  return ip === '127.0.0.1' || ip === '::1' ? 'localhost' : ip;
}

function denied(req: Request, res: Response, who: string): void {
  halt(req, res, 403, `Untrusted client ${who} attempted to access ${pathBelowMount(req)}. Check :trusted_hosts: in settings.yml`);
}

export function gate(trustedHosts: string[] | undefined): RequestHandler {
  const listed = trustedHosts === undefined ? '' : '[' + trustedHosts.map(rubyString).join(', ') + ']';
  return (req, res, next) => {
    const st = requestState(res);
    if (trustedHosts !== undefined) {
      if (st.https) {
        if (!st.clientCertPresented) return halt(req, res, 403, 'could not read client cert from environment');
        if (!st.clientCn) return halt(req, res, 403, 'could not read CN from the client certificate');
        st.log('DEBUG', `verifying remote client ${st.clientCn} against trusted_hosts ${listed}`);
        if (!trustedHosts.includes(st.clientCn.toLowerCase())) return denied(req, res, st.clientCn);
      } else {
        st.log('DEBUG', `verifying remote client ${st.remoteAddr} against trusted_hosts ${listed}`);
        const name = reverseName(st.remoteAddr);
        st.log('DEBUG', `Finished DNS query getname for '${st.remoteAddr}' in 0.1 ms`);
        if (!trustedHosts.includes(name.toLowerCase())) return denied(req, res, name);
      }
    }
    if (st.https) {
      if (!st.clientCertPresented) return halt(req, res, 403, 'No client SSL certificate supplied');
      st.log('DEBUG', 'require_ssl_client_verification: client certificate verified');
    } else {
      st.log('DEBUG', 'require_ssl_client_verification: skipping, non-HTTPS request');
    }
    next();
  };
}
