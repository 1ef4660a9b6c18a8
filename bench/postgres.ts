// PostgreSQL for the sections that measure the shared state driver: a throw-away cluster of the
// bench's own (Debian's server binaries, loopback, as in the tests, but with fsync on) and fresh
// databases on it.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { TestCluster } from '../test/support/postgres-cluster.mjs';
import { onCleanup } from './cleanup.js';
import { REPO_ROOT } from './paths.js';

/** With fsync on, as in production: the sections compare it with a SQLite file that syncs too. */
export async function startPostgres(): Promise<TestCluster> {
  // Plain ESM beside the tests, not compiled into dist/: loaded from the source tree.
  const mod = (await import(pathToFileURL(join(REPO_ROOT, 'test', 'support', 'postgres-cluster.mjs')).href)) as {
    startCluster(o?: { maxConnections?: number; durable?: boolean }): Promise<TestCluster>;
  };
  const cluster = await mod.startCluster({ maxConnections: 200, durable: true });
  onCleanup(async () => cluster.destroy());
  return cluster;
}

export async function createDatabase(clusterUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: clusterUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(clusterUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
