// The external tools the pass-through comparison needs, installed from Debian when missing
// (the bench runs as root on the project's machines).
import { execFileSync, spawnSync } from 'node:child_process';

export function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

let updated = false;

/** Installs a Debian package unless `cmd` is already on PATH; returns whether it is there now. */
export function ensureTool(cmd: string, pkg: string, allowInstall: boolean, log: (s: string) => void): boolean {
  if (hasCommand(cmd)) return true;
  if (!allowInstall) return false;
  log(`installing ${pkg} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    if (!updated) execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 180_000 });
    updated = true;
    execFileSync('apt-get', ['install', '-y', '-qq', pkg], { stdio: 'ignore', env, timeout: 300_000 });
  } catch (err) {
    log(`could not install ${pkg}: ${(err as Error).message.split('\n')[0]}`);
  }
  return hasCommand(cmd);
}
