// BMC (/bmc): IPMI/Redfish actions on physical machines, credentials in Basic auth. Reads may
// go to any backend; every PUT acts on a device and is neither idempotent nor undoable, so it
// reaches exactly one backend. SP's '/x/?:action?' routes are written as a pair here: the bare
// path (answers a hint) and the one with the action. Sub-resources SP adds later still reach a
// backend through the two catch-alls at the end.
import type { FeatureModule } from './module.js';
import type { RouteSpec } from './route.js';

const DEVICE_ACTION = 'acts on a physical device; never replicated, nothing to roll back';

function read(name: string, pattern: string): RouteSpec {
  return { name, method: 'GET', pattern, kind: 'read', retrySafe: true };
}

function write(name: string, pattern: string): RouteSpec {
  return { name, method: 'PUT', pattern, kind: 'write', retrySafe: false, exactlyOnce: true, noInverse: DEVICE_ACTION };
}

/** SP's `<base>/?:param?` as two routes: without the parameter (a hint) and with it. */
function optionalTail(make: typeof read, name: string, base: string, param: string): RouteSpec[] {
  return [make(`${name}.hint`, `${base}/?`), make(name, `${base}/:${param}`)];
}

export const bmc: FeatureModule = {
  name: 'bmc',
  description: 'BMC: IPMI/Redfish power and boot-device control.',
  loadOrder: 80,
  mounts: ['/bmc'],
  defaultPolicy: 'failover',
  auth: 'trusted',
  exposedSettings: {},
  // SP 3.11 lists BMC's static provider capabilities whether or not the module runs.
  disabledCapabilities: ['redfish', 'shell', 'ssh'],
  routes: [
    read('bmc.resources', '/bmc/?'),
    read('bmc.providers', '/bmc/providers'),
    read('bmc.providers_installed', '/bmc/providers/installed'),
    read('bmc.host_hint', '/bmc/host'),
    read('bmc.actions', '/bmc/:host'),
    read('bmc.test', '/bmc/:host/test'),
    read('bmc.chassis', '/bmc/:host/chassis'),
    // GET power/on and power/off ask whether the power is on or off; they change nothing.
    ...optionalTail(read, 'bmc.power', '/bmc/:host/chassis/power', 'action'),
    ...optionalTail(read, 'bmc.lan', '/bmc/:host/lan', 'action'),
    ...optionalTail(read, 'bmc.identify', '/bmc/:host/chassis/identify', 'action'),
    ...optionalTail(read, 'bmc.config', '/bmc/:host/chassis/config', 'function'),
    ...optionalTail(read, 'bmc.fru', '/bmc/:host/fru', 'action'),
    ...optionalTail(read, 'bmc.info', '/bmc/:host/bmc', 'action'),
    read('bmc.sensor', '/bmc/:host/sensors/get/:sensor'),
    ...optionalTail(read, 'bmc.sensors', '/bmc/:host/sensors', 'action'),
    read('bmc.other_read', '/bmc/*path'),

    ...optionalTail(write, 'bmc.power_set', '/bmc/:host/chassis/power', 'action'),
    ...optionalTail(write, 'bmc.identify_set', '/bmc/:host/chassis/identify', 'action'),
    write('bmc.bootdevice', '/bmc/:host/chassis/config/:function/:device'),
    ...optionalTail(write, 'bmc.config_set', '/bmc/:host/chassis/config', 'function'),
    write('bmc.reset', '/bmc/:host/bmc/:action'),
    write('bmc.other_write', '/bmc/*path'),
  ],
};
