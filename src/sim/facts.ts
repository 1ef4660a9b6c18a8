// /facts: a small, fixed Facter hash of the simulated proxy host (SP modules/facts).
import { Router } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { halt, okJson } from './headers.js';

export function factsOf(ctx: SimContext): Record<string, unknown> {
  const hostname = ctx.options.name;
  return {
    hostname,
    fqdn: `${hostname}.example.test`,
    domain: 'example.test',
    ipaddress: '127.0.0.1',
    kernel: 'Linux',
    osfamily: 'Debian',
    operatingsystem: 'Debian',
    operatingsystemrelease: '12',
    architecture: 'amd64',
    processorcount: 2,
    memorysize_mb: 24576,
    foreman_proxy_version: ctx.version,
  };
}

export function factsRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  r.use(gate(ctx.options.trustedHosts));
  r.get('/', (_req, res) => okJson(res, factsOf(ctx)));
  r.get('/:fact', (req, res) => {
    const facts = factsOf(ctx);
    const { fact } = req.params;
    if (!(fact in facts)) return halt(req, res, 404, `Fact ${fact} not found`);
    okJson(res, { [fact]: facts[fact] });
  });
  return r;
}
