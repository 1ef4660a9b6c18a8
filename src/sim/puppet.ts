// /puppet: read-only environments and classes (SP modules/puppet_proxy); run is not implemented.
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { halt, okJson } from './headers.js';

const ENVIRONMENTS: Record<string, Record<string, unknown>[]> = {
  production: [
    { 'ntp::config': { name: 'config', module: 'ntp', params: { servers: ['0.pool.ntp.org'] } } },
    { ntp: { name: 'ntp', module: null, params: { enable: true } } },
  ],
  development: [{ motd: { name: 'motd', module: null, params: {} } }],
};

export function puppetRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  r.use(gate(ctx.options.trustedHosts));

  r.get('/environments', (_req, res) => okJson(res, Object.keys(ENVIRONMENTS)));

  r.get('/environments/:env', (req, res) => {
    const { env } = req.params;
    if (!(env in ENVIRONMENTS)) return halt(req, res, 404, `Could not find environment '${env}'`, { json: true });
    okJson(res, { name: env, paths: [`/etc/puppetlabs/code/environments/${env}`] });
  });

  r.get('/environments/:env/classes', (req, res) => {
    const { env } = req.params;
    if (!(env in ENVIRONMENTS)) return halt(req, res, 404, `Could not find environment '${env}'`, { json: true });
    okJson(res, ENVIRONMENTS[env]);
  });

  r.post('/run', (req, res) => halt(req, res, 501, 'Puppet run is not implemented'));

  return r;
}
