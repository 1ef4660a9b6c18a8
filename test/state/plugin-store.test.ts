// The plugin modules' durable state on both drivers: task owners, and the OpenSCAP report spool
// whose POST to Foreman is claimed once.
import { afterEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { openPluginStore } from '../../src/state/open-store.js';
import type { PluginStore } from '../../src/state/plugin-store.js';
import { migratePostgres } from '../../src/state/postgresql/migrate.js';
import { PgPluginStore } from '../../src/state/postgresql/plugin-store.js';
import { freshDatabase } from '../support/postgres.js';
import { tempDir } from './temp-store.js';

interface Fixture {
  open(): Promise<PluginStore>;
}

const drivers: { name: string; create(): Promise<Fixture> }[] = [
  {
    name: 'sqlite',
    async create() {
      const tmp = tempDir();
      return { open: async () => openPluginStore(tmp.dir) };
    },
  },
  {
    name: 'postgresql',
    async create() {
      const url = await freshDatabase();
      const setup = new pg.Pool({ connectionString: url, max: 1 });
      await migratePostgres(setup, url);
      await setup.end();
      return { open: async () => new PgPluginStore(new pg.Pool({ connectionString: url, max: 2 }), { ownsPool: true, abandonedAfterMs: 0 }) };
    },
  },
];

const opened: PluginStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

describe.each(drivers)('plugin store ($name)', (driver) => {
  const open = async (f: Fixture) => {
    const s = await f.open();
    opened.push(s);
    return s;
  };

  it('records task owners durably; a retried launch moves them', async () => {
    const f = await driver.create();
    const a = await open(f);
    await a.recordTaskOwners(['t1', 't2'], 'proxy1', 'ansible-runner', 1000);
    await a.recordTaskOwners(['t2'], 'proxy2', 'ansible-runner', 1001);
    const b = await open(f);
    expect(Object.fromEntries(await b.taskOwners(['t1', 't2', 'nope']))).toEqual({ t1: 'proxy1', t2: 'proxy2' });
    expect(await b.countTasksByBackend()).toEqual({ proxy1: 1, proxy2: 1 });
    // A move keeps the launch time: pruning counts from the launch.
    expect(await b.pruneTaskOwners(1000)).toBe(0);
    expect(await b.pruneTaskOwners(1001)).toBe(2);
    expect(Object.fromEntries(await b.taskOwners(['t1', 't2']))).toEqual({});
  });

  it('spools a report, lets one claim take it, and finds it by what Foreman names it by', async () => {
    const f = await driver.create();
    const a = await open(f);
    const b = await open(f);
    const body = Buffer.from([0x42, 0x5a, 0x68, 0x00, 0xff]);
    const id = await a.addArfReport({ cname: 'host1', policyId: '5', date: 1700000000, digest: 'abc', body }, 10);
    expect((await b.dueArfReports(10, 10)).map((r) => r.id)).toEqual([id]);
    const claims = await Promise.all([a.claimArfReport(id, 11), b.claimArfReport(id, 11)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await a.dueArfReports(20, 10)).toEqual([]);
    await a.settleArfReport(id, { state: 'sent', foremanId: '77' });
    const found = await b.findArfReport('77', 'host1', 1700000000, 'abc');
    expect(found?.body.equals(body)).toBe(true);
    expect(found?.attempts).toBe(1);
    expect(await b.findArfReport('77', 'host2', 1700000000, 'abc')).toBeUndefined();
    expect(await b.deleteArfReport(id)).toBe(true);
    expect(await b.countArfReports()).toEqual({ queued: 0, sending: 0, sent: 0, rejected: 0, unknown: 0 });
  });

  it('a report left sending by a stopped process becomes unknown, never queued again', async () => {
    const f = await driver.create();
    const a = await open(f);
    const id = await a.addArfReport({ cname: 'host1', policyId: '5', date: 1, digest: 'd', body: Buffer.from('x') }, 10);
    expect(await a.claimArfReport(id, 11)).toBe(true);
    const b = await open(f);
    expect(await b.orphanedArfSends()).toBe(1);
    expect((await b.arfReport(id))?.state).toBe('unknown');
    expect(await b.claimArfReport(id, 12)).toBe(false);
    expect(await b.dueArfReports(Number.MAX_SAFE_INTEGER, 10)).toEqual([]);
  });
});
