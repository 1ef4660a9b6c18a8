// TFTP (/tftp): per-MAC boot configs, default menus and boot files on each proxy's own disk,
// hence replicated. A per-MAC config can be read back, so its writes are undone exactly; the
// default menus and downloaded boot files cannot, so those writes are retried, not undone.
// Routes are in SP's order: the first match wins, as in Sinatra (create_default before :mac).
import { segment } from './path-segment.js';
import { rackParams } from './rack-params.js';
import { reject } from './rejection.js';
import { tftpInspector } from './tftp-drift.js';
import type { FeatureModule } from './module.js';
import type { BackendAnswer, BackendCall, IncomingCall, LedgerChange, Rejection, RouteSpec } from './route.js';
import { settingText } from './setting-value.js';
import { bootFileName, bootFileOutsideRoot, unknownBootSourceScheme } from './validate/boot-file.js';
import { isValidMac } from './validate/mac.js';
import { servedFileRejection } from './validate/served-file.js';
import { isTftpVariant } from './validate/tftp-variant.js';

/** SP's `instantiate`: the MAC is checked before the variant, both answered with 403. */
function checkTarget(variant: string, mac: string | undefined): Rejection | undefined {
  if (mac !== undefined && !isValidMac(mac)) return reject(403, `Invalid MAC address: ${mac}`);
  if (!isTftpVariant(variant)) return reject(403, `Unrecognized pxeboot config type: ${variant}`);
  return undefined;
}

const variantOf = (call: IncomingCall) => call.params.variant ?? 'syslinux';

function checkCreate(call: IncomingCall): Rejection | undefined {
  const bad = checkTarget(variantOf(call), call.params.mac);
  if (bad) return bad;
  const p = rackParams(call);
  if (p && p.get('pxeconfig') === undefined && p.get('syslinux_config') === undefined) {
    return reject(400, 'TFTP: Failed to create pxe config file: Invalid parameters received');
  }
  return undefined;
}

function checkDefault(call: IncomingCall): Rejection | undefined {
  const bad = checkTarget(variantOf(call), undefined);
  if (bad) return bad;
  const p = rackParams(call);
  if (p && p.get('menu') === undefined) return reject(400, 'TFTP: Failed to create PXE default file: Default config not supplied');
  return undefined;
}

function checkBootFile(call: IncomingCall): Rejection | undefined {
  const p = rackParams(call);
  const prefix = p?.get('prefix');
  const source = p?.get('path');
  // nil or nested values make Ruby fail with its own texts: the backend says what.
  if (typeof prefix !== 'string' || typeof source !== 'string') return undefined;
  const name = bootFileName(prefix, source);
  if (name === undefined) return undefined;
  const outside = bootFileOutsideRoot(name);
  if (outside) return reject(400, 'TFTP: Failed to fetch boot file: TFTP destination outside of tftproot');
  if (outside === undefined) return undefined;
  if (unknownBootSourceScheme(source)) {
    return reject(400, `TFTP: Failed to fetch boot file: Cannot fetch boot file, unknown protocol for medium source path: ${source}`);
  }
  return undefined;
}

/** The config as it is now, read through the variant route (the legacy form has no GET). */
function configRead(call: IncomingCall): BackendCall {
  if (call.params.variant !== undefined) return { method: 'GET', path: call.path };
  return { method: 'GET', path: `/tftp/syslinux/${segment(call.params.mac!)}` };
}

function writeBack(call: IncomingCall, snapshot: BackendAnswer): BackendCall {
  // Configs are text; they go back as the form field SP reads.
  return { method: 'POST', path: call.path, form: new URLSearchParams({ pxeconfig: snapshot.body.toString('utf8') }) };
}

/** After a create: put the old config back, or delete the one the create made. */
function undoCreate(call: IncomingCall, snapshot: BackendAnswer): BackendCall[] {
  return snapshot.status === 200 ? [writeBack(call, snapshot)] : [{ method: 'DELETE', path: call.path }];
}

/** After a delete: write the deleted config back; nothing to do if there was none. */
function undoDelete(call: IncomingCall, snapshot: BackendAnswer): BackendCall[] {
  return snapshot.status === 200 ? [writeBack(call, snapshot)] : [];
}

/** One key per file set: variant (syslinux is pxelinux's legacy name) and lower-case MAC. */
function configKey(call: IncomingCall): string {
  const variant = variantOf(call).toLowerCase();
  return `${variant === 'syslinux' ? 'pxelinux' : variant}/${call.params.mac!.toLowerCase()}`;
}

const putConfig = (call: IncomingCall): LedgerChange[] => [{ key: configKey(call), op: 'put' }];
const deleteConfig = (call: IncomingCall): LedgerChange[] => [{ key: configKey(call), op: 'delete' }];
const putDefault = (call: IncomingCall): LedgerChange[] => [{ key: `default/${variantOf(call).toLowerCase()}`, op: 'put' }];

/** A boot file is keyed by where it lands; the download is idempotent, so replay is safe. */
function putBootFile(call: IncomingCall): LedgerChange[] {
  const prefix = rackParams(call)?.get('prefix');
  return typeof prefix === 'string' ? [{ key: `boot/${prefix}`, op: 'put' }] : [];
}

const NO_DEFAULT_READ = 'default menus cannot be read back through the API; the write is idempotent, retry it';

function configRoutes(kind: 'variant' | 'legacy'): RouteSpec[] {
  const pattern = kind === 'variant' ? '/tftp/:variant/:mac' : '/tftp/:mac';
  const suffix = kind === 'variant' ? '' : '.legacy';
  return [
    {
      name: `tftp.create${suffix}`,
      method: 'POST',
      pattern,
      kind: 'write',
      retrySafe: true,
      validate: checkCreate,
      snapshot: configRead,
      restore: undoCreate,
      ledger: putConfig,
    },
    {
      name: `tftp.delete${suffix}`,
      method: 'DELETE',
      pattern,
      kind: 'write',
      retrySafe: true,
      validate: (call) => checkTarget(variantOf(call), call.params.mac),
      snapshot: configRead,
      restore: undoDelete,
      ledger: deleteConfig,
    },
  ];
}

export const tftp: FeatureModule = {
  name: 'tftp',
  description: 'TFTP: PXE loader configs per MAC, default menus and boot file downloads.',
  loadOrder: 40,
  mounts: ['/tftp'],
  defaultPolicy: 'replicate',
  auth: 'trusted',
  exposedSettings: {
    tftp_servername: 'TFTP server name reported to Foreman (DHCP next-server); set it to the address hosts should boot from.',
  },
  drift: tftpInspector,
  routes: [
    {
      name: 'tftp.fetch_boot_file',
      method: 'POST',
      pattern: '/tftp/fetch_boot_file',
      kind: 'write',
      retrySafe: true,
      validate: checkBootFile,
      ledger: putBootFile,
      noInverse: 'SP has no API to delete a boot file; the download is idempotent, retry it',
    },
    {
      // (newer SP) downloads and unpacks an installation image; 202 while it runs.
      name: 'tftp.fetch_system_image',
      method: 'POST',
      pattern: '/tftp/fetch_system_image',
      kind: 'write',
      retrySafe: true,
      noInverse: 'SP has no API to delete a system image; the fetch is idempotent, retry it',
    },
    {
      // (newer SP) host-facing file server over system_image_root, without authorization.
      name: 'tftp.system_image',
      method: 'GET',
      pattern: '/tftp/system_image/*path',
      kind: 'read',
      retrySafe: true,
      auth: 'none',
      validate: (call) => servedFileRejection(call.params.path!),
    },
    {
      name: 'tftp.create_default',
      method: 'POST',
      pattern: '/tftp/:variant/create_default',
      kind: 'write',
      retrySafe: true,
      validate: checkDefault,
      ledger: putDefault,
      noInverse: NO_DEFAULT_READ,
    },
    {
      name: 'tftp.get',
      method: 'GET',
      pattern: '/tftp/:variant/:mac',
      kind: 'read',
      retrySafe: true,
      validate: (call) => checkTarget(call.params.variant!, call.params.mac),
    },
    ...configRoutes('variant'),
    {
      name: 'tftp.create_default.legacy',
      method: 'POST',
      pattern: '/tftp/create_default',
      kind: 'write',
      retrySafe: true,
      validate: checkDefault,
      ledger: putDefault,
      noInverse: NO_DEFAULT_READ,
    },
    ...configRoutes('legacy'),
    {
      name: 'tftp.server_name',
      method: 'GET',
      pattern: '/tftp/serverName',
      kind: 'read',
      retrySafe: true,
      // The name DHCP hands out as next-server: one name (a VIP) for all backends. SP sends
      // this JSON labelled text/html, and so do we.
      local: (_call, ctx) => {
        const name = settingText(ctx, 'tftp_servername');
        return name === undefined ? undefined : { status: 200, contentType: 'html', body: JSON.stringify({ serverName: name }) };
      },
    },
  ],
};
