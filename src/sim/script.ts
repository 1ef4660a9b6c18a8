// /ssh (module `script`, smart_proxy_remote_execution_ssh in ssh mode): the proxy's public keys.
// Each simulator has its own key, named after it, so a test sees whose key it got.
import { Router } from 'express';
import type { SimContext } from './context.js';
import { ok } from './headers.js';

export function simPublicKey(ctx: SimContext): string {
  return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${Buffer.from(ctx.options.name).toString('base64')} foreman-proxy@${ctx.options.name}\n`;
}

export function scriptRouter(ctx: SimContext): Router {
  const r = Router({ strict: true, caseSensitive: true });
  r.get('/pubkey', (_req, res) => ok(res, simPublicKey(ctx)));
  r.get('/ca_pubkey', (_req, res) => ok(res, ''));
  return r;
}
