// The test PostgreSQL: a database per test, reachable over loopback, empty when handed out.
import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { freshDatabase } from '../support/postgres.js';

describe('test PostgreSQL', () => {
  it('hands out an empty database of its own on loopback', async () => {
    const a = await freshDatabase();
    const b = await freshDatabase();
    expect(a).not.toBe(b);
    expect(new URL(a).hostname).toBe('127.0.0.1');
    const client = new pg.Client({ connectionString: a });
    await client.connect();
    try {
      const tables = await client.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
      expect(tables.rows[0].n).toBe(0);
      const version = await client.query('SHOW server_version_num');
      expect(Number(version.rows[0].server_version_num)).toBeGreaterThanOrEqual(150000);
    } finally {
      await client.end();
    }
  });
});
