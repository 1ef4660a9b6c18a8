// The retention clean-up on both drivers: every kind of row past its retention goes, in batches;
// what is newer, or still to be done, stays. It runs on the leader only.
import { describe, it, expect, afterEach } from '@jest/globals';
import pg from 'pg';
import { parseConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';
import { createLogger } from '../../src/ops/logger.js';
import { LogBuffer } from '../../src/ops/log-buffer.js';
import type { JobStore } from '../../src/state/job-store.js';
import { openJobStore } from '../../src/state/open-job-store.js';
import { openPluginStore } from '../../src/state/open-store.js';
import type { PluginStore } from '../../src/state/plugin-store.js';
import { DB_NOW_MS, InstanceRegistry } from '../../src/state/postgresql/instances.js';
import { PgJobStore } from '../../src/state/postgresql/job-store.js';
import { PgPluginStore } from '../../src/state/postgresql/plugin-store.js';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { RetentionChore } from '../../src/state/retention.js';
import { durationWords, retentionTasks } from '../../src/state/retention-tasks.js';
import { openSqliteStateStore } from '../../src/state/sqlite/open.js';
import type { SagaStatus, StateStore } from '../../src/state/store.js';
import { freshDatabase } from '../support/postgres.js';
import { formRequest, manualClock, tempDir } from './temp-store.js';
import { newJob } from './new-job.js';

const HOUR = 3_600_000;
const NOW = 1_700_000_000_000;
const OLD = NOW - 2 * HOUR;
const RECENT = NOW - 10 * 60_000;

/** One state on one driver: the state store (its clock set by hand), plugin store, REX spool, instances. */
interface World {
  clock: ReturnType<typeof manualClock>;
  store: StateStore;
  plugins: PluginStore;
  jobs: JobStore;
  instances?: InstanceRegistry;
  /** Runs SQL on the PostgreSQL database (instances rows). */
  sql?: pg.Pool;
  close(): Promise<void>;
}

const drivers: { name: string; open(): Promise<World> }[] = [
  {
    name: 'sqlite',
    async open() {
      const tmp = tempDir();
      const clock = manualClock(OLD);
      const store = openSqliteStateStore(tmp.dir, { now: clock.now });
      const plugins = openPluginStore(tmp.dir);
      const jobs = openJobStore(tmp.dir);
      return {
        clock,
        store,
        plugins,
        jobs,
        async close() {
          await Promise.all([store.close(), plugins.close(), jobs.close()]);
          tmp.remove();
        },
      };
    },
  },
  {
    name: 'postgresql',
    async open() {
      const url = await freshDatabase();
      const clock = manualClock(OLD);
      const store = await PgStateStore.open({ url, poolSize: 4 }, { now: clock.now, instanceId: 'survivor' });
      const plugins = new PgPluginStore(store.pool);
      const jobs = new PgJobStore(store.pool, { instanceId: 'survivor' });
      const instances = new InstanceRegistry(store.pool, { id: 'survivor', heartbeatMs: 60_000 });
      await instances.join(null);
      return {
        clock,
        store,
        plugins,
        jobs,
        instances,
        sql: store.pool,
        async close() {
          await instances.leave();
          await store.close();
        },
      };
    },
  },
];

const config = parseConfig(`http_port: 0
saga_retention: 3600
dynflow_task_retention: 3600
openscap_report_retention: 86400
state: { instance_retention: 600 }
rex: { retention: 3600 }
backends:
  a: { url: "http://127.0.0.1:9" }
  b: { url: "http://127.0.0.1:9" }
features:
  tftp: { policy: replicate }
`);

const quiet = () => {
  const logs = new LogBuffer();
  const logger = createLogger('DEBUG', logs);
  for (const t of logger.transports) if (t.constructor.name === 'Console') t.silent = true;
  return { logger, logs };
};

describe.each(drivers)('retention clean-up ($name)', (driver) => {
  let world: World | undefined;
  afterEach(async () => {
    await world?.close();
    world = undefined;
  });

  it('removes what is past its retention in batches; newer rows, and what is still to be done, stay', async () => {
    const w = (world = await driver.open());
    const request = formRequest('/tftp/PXELinux/00:11:22:33:44:55', 'pxeconfig=x');
    const saga = async (status: SagaStatus, at: number) => {
      w.clock.set(at);
      const id = await w.store.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['a', 'b'] });
      if (status !== 'open') await w.store.setSagaStatus(id, status, 200);
      return id;
    };
    // Seven finished sagas past the retention (three statements of three), and what stays.
    const old: number[] = [];
    for (let i = 0; i < 6; i++) old.push(await saga('completed', OLD + i));
    old.push(await saga('compensated', OLD + 6));
    const kept = [await saga('open', OLD), await saga('compensating', OLD), await saga('completed', RECENT)];

    // Tombstones: one every backend holds, one 'b' has not applied yet.
    const gone = await w.store.putDesired({ feature: 'tftp', key: 'k1', op: 'delete', request });
    for (const b of ['a', 'b']) await w.store.markApplied('tftp', 'k1', b, gone);
    const pending = await w.store.putDesired({ feature: 'tftp', key: 'k2', op: 'delete', request });
    await w.store.markApplied('tftp', 'k2', 'a', pending);

    await w.plugins.recordTaskOwners(['t-old-1', 't-old-2'], 'a', 'ansible', OLD);
    await w.plugins.recordTaskOwners(['t-new'], 'b', 'ansible', RECENT);

    const DAY = 24 * HOUR;
    const report = async (at: number, outcome?: Parameters<PluginStore['settleArfReport']>[1]) => {
      const id = await w.plugins.addArfReport({ cname: 'host1', policyId: '5', date: at / 1000, digest: `d${at}`, body: Buffer.from('x') }, at);
      if (outcome) await w.plugins.settleArfReport(id, outcome);
      return id;
    };
    const sentOld = await report(NOW - 2 * DAY, { state: 'sent', foremanId: '1' });
    const rejectedOld = await report(NOW - 2 * DAY, { state: 'rejected', error: '422' });
    const queuedOld = await report(NOW - 2 * DAY);
    const sentRecent = await report(NOW - HOUR, { state: 'sent', foremanId: '2' });

    // REX: finished and delivered long ago (goes, output too); finished long ago but Foreman has
    // not taken the result (stays); finished recently (stays).
    await w.jobs.insertLaunch(null, [newJob(1), newJob(2), newJob(3)], OLD);
    await w.jobs.finish('task-1', 0, ['done'], OLD);
    await w.jobs.finish('task-2', 0, [], OLD);
    await w.jobs.finish('task-3', 0, [], RECENT);
    await w.jobs.callbacksDelivered(['task-1', 'task-3'], RECENT);

    // Heartbeat rows: one gone two hours ago, one gone a minute ago (retention 10 min).
    if (w.sql) {
      await w.sql.query(
        `INSERT INTO instances (id, runtime_url, started_at, heartbeat_at, lease_until) VALUES
           ('long-gone', NULL, 0, 0, ${DB_NOW_MS} - 7200000), ('just-gone', NULL, 0, 0, ${DB_NOW_MS} - 60000)`,
      );
    }

    const { logger, logs } = quiet();
    // Each statement's count, to see the batches.
    const statements: number[] = [];
    const store = new Proxy(w.store, {
      get(target, key) {
        if (key === 'pruneSagas') {
          return async (olderThan: number, limit?: number) => {
            const n = await target.pruneSagas(olderThan, limit);
            statements.push(n);
            return n;
          };
        }
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const chore = new RetentionChore({
      tasks: () =>
        retentionTasks({
          config,
          store,
          plugins: w.plugins,
          jobs: w.jobs,
          instances: w.instances,
          pruneTombstones: () => w.store.pruneTombstones('tftp', ['a', 'b']),
          now: () => NOW,
        }),
      leadership: { isLeader: true },
      logger,
      batch: 3,
      pauseMs: 1,
    });
    const removed = await chore.runOnce();
    expect(removed).toEqual({
      'finished sagas older than 1 h': 7,
      'tombstones every backend holds': 1,
      'forwarded dynflow task owners older than 1 h': 2,
      'OpenSCAP reports done with older than 1 d': 2,
      'finished remote-execution jobs (with their output) older than 1 h': 1,
      ...(w.instances ? { 'instances gone for more than 10 min': 1 } : {}),
    });

    expect(statements).toEqual([3, 3, 1]);
    for (const id of old) expect([id, await w.store.getSaga(id)]).toEqual([id, undefined]);
    expect((await Promise.all(kept.map((id) => w.store.getSaga(id)))).map((s) => s?.status)).toEqual(['open', 'compensating', 'completed']);
    // Their results went with them.
    expect((await w.store.getSaga(kept[2]!))!.results).toEqual({ a: { outcome: 'pending' }, b: { outcome: 'pending' } });
    expect((await w.store.ledger('tftp')).map((e) => e.key)).toEqual(['k2']);
    expect([...(await w.plugins.taskOwners(['t-old-1', 't-old-2', 't-new'])).keys()]).toEqual(['t-new']);
    expect(await w.plugins.arfReport(sentOld)).toBeUndefined();
    expect(await w.plugins.arfReport(rejectedOld)).toBeUndefined();
    expect((await w.plugins.arfReport(queuedOld))?.state).toBe('queued');
    expect((await w.plugins.arfReport(sentRecent))?.state).toBe('sent');
    expect(await w.jobs.task('task-1')).toBeUndefined();
    expect(await w.jobs.output('task-1')).toEqual([]);
    expect((await w.jobs.task('task-2'))?.callbackState).toBe('pending');
    expect(await w.jobs.task('task-3')).toBeDefined();
    if (w.instances) expect((await w.instances.instances()).map((i) => i.id).sort()).toEqual(['just-gone', 'survivor']);

    const lines = (logs.query(undefined) as { logs: { message: string }[] }).logs.map((l) => l.message);
    expect(lines).toContain('clean-up: removed 7 finished sagas older than 1 h');
    // Nothing more is past its retention: a second run removes nothing.
    expect(Object.values(await chore.runOnce()).every((n) => n === 0)).toBe(true);
  });
});

describe('retention clean-up schedule', () => {
  it('runs only where it leads', async () => {
    const runs: number[] = [];
    const leadership = { isLeader: false };
    const { logger } = quiet();
    const chore = new RetentionChore({
      tasks: () => [{ what: 'rows', prune: async () => runs.push(Date.now()) && 0 }],
      leadership,
      logger,
      intervalMs: 20,
    });
    chore.start();
    try {
      await new Promise((ok) => setTimeout(ok, 300));
      expect(runs).toEqual([]);
      leadership.isLeader = true;
      for (let i = 0; i < 100 && runs.length === 0; i++) await new Promise((ok) => setTimeout(ok, 20));
      expect(runs.length).toBeGreaterThan(0);
    } finally {
      await chore.stop();
    }
  });

  it('names durations in words', () => {
    expect([604800, 86400, 7200, 1800, 90].map(durationWords)).toEqual(['7 d', '1 d', '2 h', '30 min', '90 s']);
  });
});

describe('retention clean-up in the daemon', () => {
  it('a lone instance leads and prunes the saga log on its schedule', async () => {
    const tmp = tempDir();
    const clock = manualClock(Date.now() - 2 * HOUR);
    const seed = openSqliteStateStore(tmp.dir, { now: clock.now });
    const request = formRequest('/tftp/PXELinux/00:11:22:33:44:55', 'pxeconfig=x');
    const begin = () => seed.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['a'] });
    const old = await begin();
    await seed.setSagaStatus(old, 'completed', 200);
    clock.set(Date.now());
    const recent = await begin();
    await seed.setSagaStatus(recent, 'completed', 200);
    await seed.close();

    const daemon = new Daemon(
      parseConfig(`http_port: 0
bind_host: 127.0.0.1
state_dir: ${tmp.dir}
saga_retention: 3600
health_check: { interval_ms: 60000, timeout_ms: 1000, rise: 1, fall: 1 }
backends:
  a: { url: "http://127.0.0.1:9" }
features:
  tftp: { policy: replicate }
`),
      { silent: true, cleanupIntervalMs: 100 },
    );
    await daemon.start();
    try {
      const removed = () => (daemon.logs.query(undefined) as { logs: { message: string }[] }).logs.some((l) => l.message === 'clean-up: removed 1 finished sagas older than 1 h');
      for (let i = 0; i < 200 && !removed(); i++) await new Promise((ok) => setTimeout(ok, 25));
      expect(removed()).toBe(true);
      expect(await daemon.store.getSaga(old)).toBeUndefined();
      expect((await daemon.store.getSaga(recent))?.status).toBe('completed');
    } finally {
      await daemon.stop();
      tmp.remove();
    }
  });
});
