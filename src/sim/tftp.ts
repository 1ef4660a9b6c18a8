// /tftp: real files below the tftproot in each variant's layout (SP modules/tftp/tftp_api.rb).
// Validation failures are 403 (MAC checked before the variant), write failures 400 with Ruby's
// exception text, a missing file on GET 404 naming the full path.
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Router, type Request, type Response } from 'express';
import { gate } from './auth.js';
import { fetchBootFile } from './boot-file.js';
import type { SimContext } from './context.js';
import { halt, ok } from './headers.js';
import { paramString } from './params.js';
import { requestState } from './request-state.js';
import { RubyError, writeFileRuby } from './ruby-errors.js';
import { defaultFiles, perMacFiles, variantOf, type TftpVariant } from './tftp-layout.js';
import { isValidMac } from './mac.js';

function message(err: unknown): string {
  return err instanceof RubyError || err instanceof Error ? err.message : String(err);
}

export function tftpRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  const abs = (rel: string) => `${ctx.tftproot}/${rel}`;

  /** SP's instantiate: 403 for a bad MAC first, then for an unknown variant. */
  function instantiate(req: Request, res: Response, variant: string, mac?: string): TftpVariant | undefined {
    if (mac !== undefined && !isValidMac(mac)) {
      halt(req, res, 403, `Invalid MAC address: ${mac}`);
      return undefined;
    }
    const v = variantOf(variant);
    if (!v) halt(req, res, 403, `Unrecognized pxeboot config type: ${variant}`);
    return v;
  }

  function create(req: Request, res: Response, variant: string, mac: string): void {
    const v = instantiate(req, res, variant, mac);
    if (!v) return;
    const st = requestState(res);
    const config = paramString(st.params, 'pxeconfig') ?? paramString(st.params, 'syslinux_config');
    try {
      if (config === undefined) throw new RubyError('Invalid parameters received');
      for (const rel of perMacFiles(v, mac)) {
        writeFileRuby(abs(rel), config);
        st.log('DEBUG', `TFTP: ${abs(rel)} created successfully`);
      }
    } catch (err) {
      return halt(req, res, 400, `TFTP: Failed to create pxe config file: ${message(err)}`);
    }
    ok(res);
  }

  function remove(req: Request, res: Response, variant: string, mac: string): void {
    const v = instantiate(req, res, variant, mac);
    if (!v) return;
    const st = requestState(res);
    for (const rel of perMacFiles(v, mac)) {
      if (existsSync(abs(rel))) {
        // FileUtils.rm_f: a directory in the way is silently left alone.
        try {
          if (!statSync(abs(rel)).isDirectory()) rmSync(abs(rel), { force: true });
        } catch {
          /* rm_f ignores failures */
        }
        st.log('DEBUG', `TFTP: ${abs(rel)} removed successfully`);
      } else {
        st.log('DEBUG', "TFTP: Skipping a request to delete a file which doesn't exists");
      }
    }
    ok(res);
  }

  function createDefault(req: Request, res: Response, variant: string): void {
    const v = instantiate(req, res, variant);
    if (!v) return;
    const st = requestState(res);
    const menu = paramString(st.params, 'menu');
    try {
      if (menu === undefined) throw new RubyError('Default config not supplied');
      for (const rel of defaultFiles(v)) {
        writeFileRuby(abs(rel), menu);
        st.log('DEBUG', `TFTP: ${abs(rel)} created successfully`);
      }
    } catch (err) {
      return halt(req, res, 400, `TFTP: Failed to create PXE default file: ${message(err)}`);
    }
    ok(res);
  }

  r.use(gate(ctx.options.trustedHosts));

  r.post('/fetch_boot_file', (req, res) => {
    const st = requestState(res);
    try {
      fetchBootFile(ctx, paramString(st.params, 'prefix'), paramString(st.params, 'path'));
    } catch (err) {
      return halt(req, res, 400, `TFTP: Failed to fetch boot file: ${message(err)}`);
    }
    ok(res);
  });

  r.post('/:variant/create_default', (req, res) => createDefault(req, res, req.params.variant));

  r.get('/:variant/:mac', (req, res) => {
    const { variant, mac } = req.params;
    const v = instantiate(req, res, variant, mac);
    if (!v) return;
    const file = abs(perMacFiles(v, mac)[0]);
    let body: Buffer;
    try {
      if (!existsSync(file)) throw new RubyError(`File ${file} not found`);
      if (statSync(file).isDirectory()) throw new RubyError(`Is a directory @ io_fillbuf - fd:10 ${file}`);
      body = readFileSync(file);
    } catch (err) {
      return halt(req, res, 404, `TFTP: Failed to retrieve pxe config file: ${message(err)}`);
    }
    ok(res, body);
  });

  r.post('/:variant/:mac', (req, res) => create(req, res, req.params.variant, req.params.mac));
  r.delete('/:variant/:mac', (req, res) => remove(req, res, req.params.variant, req.params.mac));

  // Legacy forms without a variant mean Syslinux; there is no legacy GET.
  r.post('/create_default', (req, res) => createDefault(req, res, 'syslinux'));
  r.post('/:mac', (req, res) => create(req, res, 'syslinux', req.params.mac));
  r.delete('/:mac', (req, res) => remove(req, res, 'syslinux', req.params.mac));

  // JSON text under Sinatra's default text/html label, as recorded.
  r.get('/serverName', (_req, res) => ok(res, JSON.stringify({ serverName: ctx.options.tftpServername })));

  return r;
}
