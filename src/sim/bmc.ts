// /bmc: power, boot device and identify state per host, in memory. Every host action needs
// HTTP Basic credentials (the ipmitool/redfish providers do), else 401 "unauthorized".
import { Router, type Request, type Response } from 'express';
import { gate } from './auth.js';
import type { SimContext } from './context.js';
import { halt, okJson } from './headers.js';

const PROVIDERS = ['freeipmi', 'ipmitool', 'redfish', 'shell', 'ssh'];

export function bmcRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const store = ctx.bmc;
  r.use(gate(ctx.options.trustedHosts));

  r.get('/', (_req, res) => okJson(res, { available_resources: ['providers', 'providers/installed', 'host'] }));
  r.get('/providers', (_req, res) => okJson(res, { providers: PROVIDERS }));
  r.get('/providers/installed', (_req, res) => okJson(res, { installed_providers: ['redfish', 'shell', 'ssh'] }));

  /** Host routes need Basic credentials; the simulator accepts any. */
  function authorized(req: Request, res: Response): boolean {
    if (/^Basic\s+\S+/i.test(req.headers.authorization ?? '')) return true;
    halt(req, res, 401, 'unauthorized');
    return false;
  }

  r.get('/:host/chassis/power/:action', (req, res) => {
    if (!authorized(req, res)) return;
    const h = store.host(req.params.host);
    const { action } = req.params;
    if (action === 'status') return okJson(res, { action, result: h.power });
    if (action === 'on' || action === 'off') return okJson(res, { action, result: h.power === action });
    okJson(res, { error: `The action: ${action} is not a valid action` });
  });

  r.put('/:host/chassis/power/:action', (req, res) => {
    if (!authorized(req, res)) return;
    const h = store.host(req.params.host);
    const { action } = req.params;
    switch (action) {
      case 'on':
      case 'off':
        h.power = action;
        break;
      case 'soft':
        h.power = 'off';
        break;
      case 'cycle':
      case 'reset':
        h.power = 'on';
        break;
      default:
        return okJson(res, { error: `The action: ${action} is not a valid action` });
    }
    okJson(res, { action, result: true });
  });

  r.put('/:host/chassis/config/bootdevice/:device', (req, res) => {
    if (!authorized(req, res)) return;
    const { device } = req.params;
    if (!['pxe', 'disk', 'cdrom', 'bios'].includes(device)) {
      return okJson(res, { error: `The action: ${device} is not a valid action` });
    }
    store.host(req.params.host).bootdevice = device;
    okJson(res, { action: device, result: true });
  });

  r.get('/:host/chassis/identify/status', (req, res) => {
    if (!authorized(req, res)) return;
    okJson(res, { action: 'status', result: store.host(req.params.host).identify });
  });

  r.put('/:host/chassis/identify/:action', (req, res) => {
    if (!authorized(req, res)) return;
    const { action } = req.params;
    if (action !== 'on' && action !== 'off') return okJson(res, { error: `The action: ${action} is not a valid action` });
    store.host(req.params.host).identify = action;
    okJson(res, { action, result: true });
  });

  return r;
}
