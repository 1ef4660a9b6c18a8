// The whole simulated state as the control API shows it, and the reset back to the seed.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SimContext } from './context.js';

/** Files (path → UTF-8 content) and directories below the tftproot, paths relative with '/'. */
export function tftpTree(root: string): { files: Record<string, string>; dirs: string[] } {
  const files: Record<string, string> = {};
  const dirs: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        dirs.push(path);
        walk(path);
      } else {
        try {
          files[path] = readFileSync(join(root, path), 'utf8');
        } catch {
          /* vanished or unreadable: not part of the state */
        }
      }
    }
  };
  walk('');
  return { files, dirs: dirs.sort() };
}

export function snapshotState(ctx: SimContext): Record<string, unknown> {
  const tree = tftpTree(ctx.tftproot);
  return {
    tftp: tree.files,
    tftpDirs: tree.dirs,
    dns: ctx.dns.all(),
    dhcp: ctx.dhcp.snapshot(),
    puppetca: ctx.puppetca.snapshot(),
    realm: ctx.realm.snapshot(),
    bmc: ctx.bmc.snapshot(),
    dynflow: { tasks: ctx.dynflow.snapshot() },
    openscap: { uploads: ctx.openscapSpool },
  };
}

/** Everything back to the seed: an empty tftproot, no DNS records, the seeded leases. */
export function resetState(ctx: SimContext): void {
  for (const entry of readdirSync(ctx.tftproot)) rmSync(join(ctx.tftproot, entry), { recursive: true, force: true });
  ctx.dns.reset();
  ctx.dhcp.reset();
  ctx.puppetca.reset();
  ctx.realm.reset();
  ctx.bmc.reset();
  ctx.dynflow.reset();
  ctx.openscapSpool.length = 0;
}
