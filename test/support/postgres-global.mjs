// Jest global setup and teardown: one throw-away PostgreSQL cluster for the whole run. Its URL
// reaches every test worker as PROXY_PROXY_TEST_PG_URL; each test takes a database of its own
// (test/support/postgres.ts).
import { startCluster } from './postgres-cluster.mjs';

export async function setup() {
  const cluster = await startCluster();
  globalThis.__ppTestPostgres = cluster;
  process.env.PROXY_PROXY_TEST_PG_URL = cluster.url;
}

export async function teardown() {
  globalThis.__ppTestPostgres?.destroy();
}
