// The API application: the intake, then each enabled module mounted where SP mounts it
// (Rack URLMap), then Sinatra's not-found answer for everything else.
import express, { type ErrorRequestHandler, type Express, type Router } from 'express';
import { ansibleRouter } from './ansible.js';
import { bmcRouter } from './bmc.js';
import type { SimContext } from './context.js';
import { dhcpRouter } from './dhcp.js';
import { dnsRouter } from './dns.js';
import { dynflowRouter } from './dynflow.js';
import { factsRouter } from './facts.js';
import type { CallLog, Faults } from './faults.js';
import { rootRouter, v2Router } from './features.js';
import { halt, notFound } from './headers.js';
import { httpbootRouter } from './httpboot.js';
import { intake } from './intake.js';
import { logsRouter } from './logs.js';
import { openscapRouter } from './openscap.js';
import { scriptRouter } from './script.js';
import type { SimModule } from './options.js';
import { puppetRouter } from './puppet.js';
import { puppetcaRouter } from './puppetca.js';
import { realmRouter } from './realm.js';
import { registrationRouter } from './registration.js';
import { tftpRouter } from './tftp.js';
import { unattendedRouter, userdataRouter } from './templates.js';

export function createApiApp(ctx: SimContext, calls: CallLog, faults: Faults): Express {
  const app = express();
  // Set before the first use(): the app router reads them when it is created.
  app.set('strict routing', true);
  app.set('case sensitive routing', true);
  app.set('x-powered-by', false);
  app.set('etag', false);
  app.set('query parser', false);
  app.locals.serverHeader = `foreman-proxy/${ctx.version}`;

  app.use(intake(ctx, calls, faults));

  const mounts: [string, SimModule | null, (c: SimContext) => Router][] = [
    ['/v2', null, v2Router],
    ['/tftp', 'tftp', tftpRouter],
    ['/dns', 'dns', dnsRouter],
    ['/dhcp', 'dhcp', dhcpRouter],
    ['/unattended', 'templates', unattendedRouter],
    ['/userdata', 'templates', userdataRouter],
    ['/register', 'registration', registrationRouter],
    ['/logs', 'logs', logsRouter],
    // Longest prefix first, as URLMap matches.
    ['/puppet/ca', 'puppetca', puppetcaRouter],
    ['/puppet', 'puppet', puppetRouter],
    ['/realm', 'realm', realmRouter],
    ['/bmc', 'bmc', bmcRouter],
    ['/facts', 'facts', factsRouter],
    ['/httpboot', 'httpboot', httpbootRouter],
    ['/EFI/BOOT', 'httpboot', httpbootRouter],
    ['/EFI', 'httpboot', httpbootRouter],
    ['/ansible', 'ansible', ansibleRouter],
    ['/dynflow', 'dynflow', dynflowRouter],
    ['/compliance', 'openscap', openscapRouter],
    ['/ssh', 'script', scriptRouter],
  ];
  for (const [path, module, make] of mounts) {
    if (module === null || ctx.enabled(module)) app.use(path, make(ctx));
  }
  app.use(rootRouter(ctx));

  app.use((_req, res) => notFound(res));
  const onError: ErrorRequestHandler = (err: { status?: number; message?: string }, req, res, _next) => {
    const status = typeof err.status === 'number' && err.status >= 400 && err.status < 600 ? err.status : 500;
    halt(req, res, status, err.message ?? 'Internal Server Error');
  };
  app.use(onError);
  return app;
}
