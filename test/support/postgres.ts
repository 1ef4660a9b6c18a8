// PostgreSQL for tests: a fresh database per test on the run's throw-away cluster
// (test/support/postgres-global.mjs), or a cluster of a test's own when it must stop the server.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export { startCluster, type TestCluster } from './postgres-cluster.mjs';

/** The run's cluster; set by Jest's global setup. */
export function testClusterUrl(): string {
  const url = process.env.PROXY_PROXY_TEST_PG_URL;
  if (!url) throw new Error('PROXY_PROXY_TEST_PG_URL is not set: run the tests through npm test (Jest global setup starts PostgreSQL)');
  return url;
}

/** Creates an empty database and returns its URL. */
export async function freshDatabase(clusterUrl = testClusterUrl()): Promise<string> {
  const name = `t_${randomBytes(6).toString('hex')}`;
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
