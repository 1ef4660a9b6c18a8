import { describe, it, expect } from '@jest/globals';
import type { JobRecord } from '../../src/state/job-store.js';
import { jobPlanHash, jobStatus, parentPlanHash, pullScriptOutput, timeToStr } from '../../src/rex/plan-hash.js';

const base: JobRecord = {
  taskId: 'plan-1',
  parentId: 'parent-1',
  jobUuid: 'job-1',
  host: 'h.example.test',
  operation: 'ssh',
  callback: { task_id: 'ft-1', step_id: 3 },
  input: { hostname: 'h', proxy_url: 'https://p' },
  script: 'echo',
  effectiveUser: null,
  baseUrl: 'https://p',
  state: 'running',
  outputState: 'running',
  delivery: '',
  exitStatus: null,
  exitAt: null,
  stopping: false,
  callbackState: 'none',
  callbackAttempts: 0,
  callbackError: null,
  createdAt: Date.UTC(2026, 0, 5, 13, 0, 0, 5),
  deliveredAt: null,
  finishedAt: null,
  reportedAt: null,
  orphanSince: null,
  orphanDue: null,
};
const result = [{ output_type: 'stdout', output: 'hi\n', timestamp: 1767618000.000001 }];

describe('plan hash', () => {
  it('reads as a running Dynflow plan whose PullScript action carries the live output', () => {
    const hash = jobPlanHash(base, result, base.createdAt + 1500);
    expect(hash).toMatchObject({
      id: 'plan-1',
      class: 'Dynflow::ExecutionPlan',
      state: 'running',
      result: 'pending',
      root_plan_step_id: 1,
      step_ids: [1, 2, 3, 4, 5],
      started_at: '2026-01-05 13:00:00.005',
      ended_at: null,
      execution_time: 1.5,
      real_time: 1.5,
      execution_history: [],
    });
    const actions = hash.actions as { class: string; input: Record<string, unknown>; output: unknown }[];
    expect(actions.map((a) => a.class)).toEqual([
      'Proxy::RemoteExecution::Ssh::Actions::RunScript',
      'Proxy::RemoteExecution::Ssh::Actions::PullScript',
      'Proxy::Dynflow::Callback::Action',
    ]);
    // Foreman takes the first action whose input.task_id is its task: only PullScript has one.
    expect(actions.filter((a) => a.input.task_id === 'ft-1').map((a) => a.class)).toEqual(['Proxy::RemoteExecution::Ssh::Actions::PullScript']);
    expect(actions[0]!.input.callback).toEqual({ task_id: 'ft-1', step_id: 3 });
    expect(actions[1]!.output).toEqual({ state: 'running', result });
  });

  it('reads as stopped with the exit once finished, whatever the exit status', () => {
    const done: JobRecord = { ...base, state: 'finished', outputState: 'delivered', exitStatus: 'EXCEPTION', exitAt: 1767618001.5, finishedAt: base.createdAt + 2000 };
    expect(jobStatus(done)).toEqual({ state: 'stopped', result: 'success' });
    expect(jobStatus({ ...done, exitStatus: 1 })).toEqual({ state: 'stopped', result: 'success' });
    // One state in every result, as the smart proxy sends it, whatever the job went through.
    expect(pullScriptOutput(done, result)).toEqual({ state: 'running', result, exit_status: 'EXCEPTION', exit_status_timestamp: 1767618001.5 });
    expect(jobPlanHash(done, result, 0)).toMatchObject({ ended_at: '2026-01-05 13:00:02.005', execution_time: 2 });
  });

  it('has no callback action, and its own id as task_id, without a callback', () => {
    const hash = jobPlanHash({ ...base, callback: null }, [], 0);
    const actions = hash.actions as { class: string; input: Record<string, unknown> }[];
    expect(actions).toHaveLength(2);
    expect(actions[1]!.input.task_id).toBe('plan-1');
  });

  it('shows a batch parent running while a child runs, stopped once the last one ended', () => {
    expect(parentPlanHash({ id: 'parent-1', operation: 'ssh', createdAt: 0, children: 2, unfinished: 1, lastFinishedAt: 500 }, 2000)).toMatchObject({
      id: 'parent-1',
      state: 'running',
      result: 'pending',
      ended_at: null,
      execution_time: 2,
      actions: [{ class: 'Proxy::Dynflow::Action::Batch', input: { operation: 'ssh', children: 2 } }],
    });
    expect(parentPlanHash({ id: 'parent-1', operation: 'ssh', createdAt: 0, children: 2, unfinished: 0, lastFinishedAt: 1500 }, 9000)).toMatchObject({
      state: 'stopped',
      result: 'success',
      ended_at: timeToStr(1500),
      execution_time: 1.5,
    });
    expect(timeToStr(null)).toBeNull();
  });
});
