// /httpboot/* and /EFI/*: files of the tftproot over HTTP for UEFI HTTP boot
// (SP modules/httpboot/httpboot_api.rb). Not gated; 404/403/503 as SP decides them.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { Router, type Request, type Response } from 'express';
import type { SimContext } from './context.js';
import { halt, reply } from './headers.js';

export function httpbootRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });

  function serve(req: Request, res: Response, segments: string[]): void {
    const root = realpathSync(ctx.tftproot);
    // Pathname#cleanpath on the request path, then joined below the root.
    const file = normalize('/' + segments.join('/'));
    const joined = join(root, file);
    if (!existsSync(joined)) return halt(req, res, 404, 'Not found');
    const real = realpathSync(joined);
    if (!real.startsWith(root + '/')) return halt(req, res, 403, 'Invalid or empty path');
    const st = statSync(real);
    if (st.isDirectory()) return halt(req, res, 403, 'Directory listing not allowed');
    if (!st.isFile()) return halt(req, res, 503, 'Not a regular file');
    reply(res, 200, 'application/octet-stream', readFileSync(real), {
      headers: { 'Last-Modified': st.mtime.toUTCString() },
    });
  }

  r.get('/*path', (req, res) => serve(req, res, req.params.path as unknown as string[]));
  return r;
}
