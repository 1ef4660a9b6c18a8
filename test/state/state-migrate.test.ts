// `proxy-proxy state migrate --to URL` (the built CLI): a SQLite state — an open saga, the ledger
// with a tombstone, applied marks — arrives whole in an empty PostgreSQL database, ids and
// versions kept; a second run is refused because the target is no longer empty.
import { describe, it, expect, afterEach } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { openSqliteStateStore } from '../../src/state/sqlite/open.js';
import { openJobStore } from '../../src/state/open-job-store.js';
import { PgJobStore } from '../../src/state/postgresql/job-store.js';
import { freshDatabase } from '../support/postgres.js';
import { formRequest, tempDir } from './temp-store.js';

const CLI = resolve('dist/src/cli.js');
const migrateCli = (dir: string, url: string) =>
  spawnSync(process.execPath, [CLI, 'state', 'migrate', '--state-dir', dir, '--to', url], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });

describe('proxy-proxy state migrate', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('copies sagas, ledger and applied marks into an empty database, then refuses a non-empty one', async () => {
    const tmp = tempDir();
    cleanups.push(tmp.remove);
    const src = openSqliteStateStore(tmp.dir);
    const request = formRequest('/tftp/PXELinux/00:11:22:33:44:55', 'pxeconfig=x');
    const done = await src.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['a', 'b'] });
    await src.setSagaStatus(done, 'completed', 200);
    const open = await src.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['a', 'b'], snapshots: { a: { status: 404, headers: {}, bodyBase64: '' } } });
    await src.recordResult(open, 'a', { outcome: 'applied', detail: '200' });
    const v1 = await src.putDesired({ feature: 'tftp', key: 'pxelinux/00:11:22:33:44:55', op: 'put', request });
    await src.markApplied('tftp', 'pxelinux/00:11:22:33:44:55', 'a', v1);
    const v2 = await src.putDesired({ feature: 'tftp', key: 'pxelinux/00:11:22:33:44:66', op: 'delete', request: formRequest('/tftp/PXELinux/00:11:22:33:44:66') });
    await src.markLagging('tftp', 'b');
    const sagas = [await src.getSaga(done), await src.getSaga(open)];
    const ledger = await src.ledger('tftp');
    const lagging = await src.laggingBackends();
    await src.close();
    // A running job whose script and output hold NUL: PostgreSQL keeps them as bytes.
    const spool = openJobStore(tmp.dir);
    const script = 'printf "\\0"\n# \u0000\n';
    await spool.insertLaunch(null, [{ taskId: 't1', parentId: null, jobUuid: 'u1', host: 'h1.example.test', operation: 'single', callback: { task_id: 'ft1', step_id: 3 }, input: {}, script, effectiveUser: null, baseUrl: 'https://proxy.example.test', pickupDue: null, execDue: null }], 1000);
    await spool.deliver('u1', 'h1.example.test', '', 1000);
    await spool.applyUpdates('u1', 'h1.example.test', '', [{ kind: 'output', stream: 'stdout', content: 'a\u0000é' }], 1001, 1e6);
    const output = await spool.output('t1');
    await spool.close();

    const url = await freshDatabase();
    const run = migrateCli(tmp.dir, url);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/: sagas 2, saga_results 4, ledger 2, ledger_applied 1, lagging_backends 1, rex_parents 0, rex_jobs 1, rex_output 1, .*; 1 unfinished saga\(s\)/);

    const pgStore = await PgStateStore.open({ url, poolSize: 2 });
    cleanups.push(() => pgStore.close());
    expect([await pgStore.getSaga(done), await pgStore.getSaga(open)]).toEqual(sagas);
    expect(await pgStore.ledger('tftp')).toEqual(ledger);
    expect(await pgStore.appliedVersion('tftp', 'pxelinux/00:11:22:33:44:55', 'a')).toBe(v1);
    const pgSpool = new PgJobStore(pgStore.pool, { instanceId: 'after-migrate' });
    expect(await pgSpool.task('t1')).toMatchObject({ script, state: 'running' });
    expect(await pgSpool.output('t1')).toEqual(output);
    expect(await pgStore.laggingBackends()).toEqual(lagging);
    // Versions and ids go on past the copied ones.
    expect(await pgStore.putDesired({ feature: 'tftp', key: 'k', op: 'put', request })).toBe(v2 + 1);
    expect(await pgStore.beginSaga({ feature: 'tftp', route: 'tftp.create', request, targets: ['a'] })).toBeGreaterThan(open);

    const again = migrateCli(tmp.dir, url);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^state migrate: refusing to copy into postgresql:\/\/.*: it already holds state \(sagas \(3\)/);
  });
});
