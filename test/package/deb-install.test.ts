// The Debian package installs and works: `npm run package` (here scripts/package-deb.sh over the
// built dist/), `dpkg -i`, `proxy-proxy version`, `systemd-analyze verify` of the units,
// `check-config` of the shipped example, then `dpkg --purge`. Needs root (CI runs it as root):
// it fails, with the command to run, rather than skip.
import { describe, it, expect } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';

const run = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000 });

describe('Debian package', () => {
  it('installs, answers version, has units systemd accepts and a valid example config, and removes cleanly', () => {
    if (process.getuid?.() !== 0) throw new Error('the package test installs a .deb: run it as root (sudo npm test -- test/package)');
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    const deb = execFileSync('bash', ['scripts/package-deb.sh'], { encoding: 'utf8', timeout: 900_000 }).trim();
    expect(deb).toBe(`proxy-proxy_${version}_all.deb`);
    try {
      const install = run('dpkg', ['-i', deb]);
      expect(install.stderr).not.toMatch(/error/i);
      expect(install.status).toBe(0);
      expect(run('/usr/bin/proxy-proxy', ['version']).stdout.trim()).toBe(version);
      const verify = run('systemd-analyze', ['verify', '/lib/systemd/system/proxy-proxy.service', '/lib/systemd/system/proxy-proxy.socket']);
      expect(verify.stderr).toBe('');
      expect(verify.status).toBe(0);
      const check = run('/usr/bin/proxy-proxy', ['check-config', '--shape-only', '/etc/proxy-proxy/proxy-proxy.yaml']);
      expect(check.stdout).toMatch(/proxy-proxy\.yaml: OK/);
      expect(check.status).toBe(0);
      expect(run('id', ['proxy-proxy']).status).toBe(0);
    } finally {
      const purge = run('dpkg', ['--purge', 'proxy-proxy']);
      rmSync(deb, { force: true });
      expect(purge.status).toBe(0);
      expect(existsSync('/usr/bin/proxy-proxy')).toBe(false);
    }
  }, 1_200_000);
});
