// A throw-away PostgreSQL cluster for tests: initdb in a temp dir, owned by the `postgres` user
// when run as root (PostgreSQL refuses to run as root), listening on loopback only. Plain ESM so
// that Jest's global setup can load it untransformed; typed by postgres-cluster.d.mts.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The newest Debian server install (/usr/lib/postgresql/N/bin), or PG_BINDIR. */
export function postgresBinDir() {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) {
    throw new Error("PostgreSQL server not found under /usr/lib/postgresql: run 'apt-get install -y postgresql' (npm test does this as root)");
  }
  return join(root, versions[0], 'bin');
}

const asRoot = () => process.getuid?.() === 0;

function run(bin, args) {
  const cmd = asRoot() ? 'runuser' : bin;
  const argv = asRoot() ? ['-u', 'postgres', '--', bin, ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed: ${(r.stderr || r.stdout || '').trim()}`);
  return r.stdout;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts a cluster and returns { url, dir, port, stop(), start(), restart() }. `url` names the
 * `postgres` database as the `postgres` superuser (trust auth on loopback).
 */
export async function startCluster(options = {}) {
  const bin = postgresBinDir();
  const dir = mkdtempSync(join(tmpdir(), 'pp-pg-'));
  chmodSync(dir, 0o700);
  if (asRoot()) execFileSync('chown', ['postgres:postgres', dir]);
  const data = join(dir, 'data');
  run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = options.port ?? (await freePort());
  const settings = [
    `-c listen_addresses=127.0.0.1`,
    `-p ${port}`,
    `-k ${dir}`,
    // A test cluster: losing it on a power cut is fine, waiting on fsync is not. Commits still
    // reach the kernel before they are acknowledged, so a killed server (stop('immediate'))
    // loses nothing that was committed, as in production. `durable`: fsync as in production
    // (benchmarks compare it with an embedded SQLite file that does).
    ...(options.durable ? [] : [`-c fsync=off`, `-c full_page_writes=off`]),
    `-c max_connections=${options.maxConnections ?? 400}`,
  ].join(' ');
  const ctl = (args) => run(join(bin, 'pg_ctl'), ['-D', data, ...args]);
  const start = () => ctl(['-w', '-t', '30', '-l', join(dir, 'log'), '-o', settings, 'start']);
  const stop = (mode = 'fast') => ctl(['-w', '-t', '30', '-m', mode, 'stop']);
  start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    dir,
    port,
    start,
    stop,
    restart: () => {
      stop();
      start();
    },
    destroy: () => {
      try {
        stop('immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
