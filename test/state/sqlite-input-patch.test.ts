// The SQLite spool keeps a batch child's launch input as a merge patch against its parent's:
// every input reads back as launched, through the store and through the rex_jobs view that
// `state migrate` copies, and an input no patch can express is kept whole.
import { describe, it, expect, afterEach } from '@jest/globals';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { mergePatchFrom } from '../../src/state/sqlite/input-patch.js';
import { SqliteJobStore } from '../../src/state/sqlite/job-store.js';
import { tempDir } from './temp-store.js';
import { newJob } from './new-job.js';

const T0 = 1_700_000_000_000;

/** What Foreman's batch launch sends per host: the same options, the host's own names. */
const foremanInput = (n: number, over: Record<string, unknown> = {}) => ({
  hostname: `192.0.2.${n}`,
  alternative_names: { fqdn: `h${n}.example.test` },
  effective_user: 'root',
  execution_timeout_interval: 3600,
  time_to_pickup: 86400,
  proxy_url: 'https://proxy.example.test',
  proxy_operation_name: 'ssh',
  proxy_action_name: 'Proxy::RemoteExecution::Ssh::Actions::RunScript',
  ssh_user: 'root',
  use_batch_triggering: true,
  connection_options: { retry_interval: 15, retry_count: 4, proxy_batch_triggering: true },
  ...over,
});

describe('merge patches against a batch input', () => {
  const db = new Database(':memory:');
  const apply = (base: unknown, patch: unknown): unknown =>
    JSON.parse((db.prepare('SELECT json_patch(?, ?) AS v').get(JSON.stringify(base), JSON.stringify(patch)) as { v: string }).v);

  const expressible: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ['the same input', foremanInput(1), foremanInput(1)],
    ["another host's names", foremanInput(1), foremanInput(2)],
    ['a key gone, nested and at the top', foremanInput(1), { ...foremanInput(1), ssh_user: undefined, connection_options: { retry_count: 4 } }],
    ['a key added, with an object', { a: 1 }, { a: 1, b: { c: [1, null, 'x'], d: 'é ✓ \u0000' } }],
    ['an array changed', { a: [1, 2, 3] }, { a: [1, 2] }],
    ['a null on both sides', { a: null, b: 1 }, { a: null, b: 2 }],
    ['an object replacing a scalar, and a scalar an object', { a: 1, b: { c: 1 } }, { a: { x: 1 }, b: 'flat' }],
    ['numbers and booleans', { a: 1.5, b: true, c: -0.25 }, { a: 1e21, b: false, c: 0 }],
  ];
  for (const [what, base, target] of expressible) {
    it(`reads back ${what}`, () => {
      const clean = JSON.parse(JSON.stringify(target)) as Record<string, unknown>;
      const patch = mergePatchFrom(base, clean);
      expect(patch).toBeDefined();
      expect(apply(base, patch)).toEqual(clean);
    });
  }

  it('writes only what differs', () => {
    expect(mergePatchFrom(foremanInput(1), foremanInput(2))).toEqual({ hostname: '192.0.2.2', alternative_names: { fqdn: 'h2.example.test' } });
    expect(mergePatchFrom(foremanInput(1), foremanInput(1))).toEqual({});
  });

  it('has no patch for a null where the batch input holds a value (a patch would remove the key)', () => {
    expect(mergePatchFrom({ a: 1 }, { a: null })).toBeUndefined();
    expect(mergePatchFrom({ a: { b: 1 } }, { a: { b: null } })).toBeUndefined();
    expect(mergePatchFrom({ a: 1 }, { a: { b: null } })).toBeUndefined();
    expect(mergePatchFrom({}, { a: null })).toBeUndefined();
  });
});

describe('SQLite spool: batch inputs stored as patches', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: SqliteJobStore | undefined;
  afterEach(async () => {
    await store?.close();
    dir.remove();
  });

  it('reads every child input back as launched, also after a reopen and through the rex_jobs view', async () => {
    dir = tempDir();
    const file = join(dir.dir, 'spool.sqlite3');
    store = new SqliteJobStore(file);
    const inputs = [foremanInput(1), foremanInput(2), foremanInput(3, { execution_timeout_interval: null }), foremanInput(4, { extra: { deep: [1, { x: 'y' }] } })];
    const jobs = inputs.map((input, i) => newJob(i + 1, { parentId: 'parent-1', input }));
    await store.insertLaunch({ id: 'parent-1', operation: 'ssh' }, jobs, T0);
    // A job launched on its own keeps its input whole.
    await store.insertLaunch(null, [newJob(9, { input: foremanInput(9) })], T0);
    for (const [i, input] of inputs.entries()) expect((await store.task(`task-${i + 1}`))!.input).toEqual(input);
    expect((await store.task('task-9'))!.input).toEqual(foremanInput(9));
    await store.close();
    store = new SqliteJobStore(file);
    for (const [i, input] of inputs.entries()) expect((await store.task(`task-${i + 1}`))!.input).toEqual(input);

    const db = new Database(file, { readonly: true });
    try {
      const rows = db.prepare('SELECT task_id, input_patched, length(input) AS bytes FROM rex_job_specs ORDER BY id').all() as { task_id: string; input_patched: number; bytes: number }[];
      // Child 3's null cannot be a patch: it is kept whole, as is the job without a batch.
      expect(rows.map((r) => [r.task_id, r.input_patched])).toEqual([['task-1', 1], ['task-2', 1], ['task-3', 0], ['task-4', 1], ['task-9', 0]]);
      expect(rows[1]!.bytes).toBeLessThan(JSON.stringify(inputs[1]).length / 3);
      const view = db.prepare("SELECT task_id, input FROM rex_jobs WHERE parent_id = 'parent-1' ORDER BY id").all() as { task_id: string; input: string }[];
      expect(view.map((r) => JSON.parse(r.input) as unknown)).toEqual(inputs);
    } finally {
      db.close();
    }
  });
});
