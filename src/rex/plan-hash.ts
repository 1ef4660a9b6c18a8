// The shapes Foreman reads back: Dynflow's execution-plan hash (DF execution_plan.rb to_hash) with
// its actions (action.rb to_hash), as smart_proxy_dynflow's GET /tasks/:id/status returns it, and
// PullScript's output, which is also the `data` of a callback (docs/protocol/rex-pull.md §1.4, §1.5).
// Foreman picks the action whose input.task_id is its own task id and reads that output; only
// the PullScript action carries task_id, as on a real proxy.
import type { JobRecord, OutputItem, ParentRecord } from '../state/job-store.js';
import { planState } from './job-state.js';
import { RUN_SCRIPT } from './launch-input.js';

const PULL_SCRIPT = 'Proxy::RemoteExecution::Ssh::Actions::PullScript';
const CALLBACK_ACTION = 'Proxy::Dynflow::Callback::Action';
const BATCH_ACTION = 'Proxy::Dynflow::Action::Batch';
const PLAN_CLASS = 'Dynflow::ExecutionPlan';

export interface PullScriptOutput {
  state: string;
  result: OutputItem[];
  exit_status?: number | 'EXCEPTION';
  exit_status_timestamp?: number;
}

/**
 * PullScript's output: live while the job runs, final once it finished. A finished job's state
 * reads 'running' whatever it went through: REX ends every job (the host's exit, or a timeout or
 * cancel of its own) through the update path that sets 'running', so that is the one value a
 * callback carries (docs/remote-execution.md).
 */
export function pullScriptOutput(job: JobRecord, result: OutputItem[]): PullScriptOutput {
  const out: PullScriptOutput = { state: job.state === 'finished' ? 'running' : job.state, result };
  if (job.state === 'finished' && job.exitStatus !== null) {
    out.exit_status = job.exitStatus;
    if (job.exitAt !== null) out.exit_status_timestamp = job.exitAt;
  }
  return out;
}

/** Dynflow's time_to_str: UTC, milliseconds. */
export function timeToStr(ms: number | null): string | null {
  if (ms === null) return null;
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

function atom(stepId: number) {
  return { class: 'Dynflow::Flows::Atom', step_id: stepId };
}

function sequence(stepIds: number[]) {
  return { class: 'Dynflow::Flows::Sequence', flows: stepIds.map(atom) };
}

function times(createdAt: number, endedAt: number | null, now: number) {
  const seconds = ((endedAt ?? now) - createdAt) / 1000;
  return {
    started_at: timeToStr(createdAt),
    ended_at: timeToStr(endedAt),
    execution_time: seconds,
    real_time: seconds,
    execution_history: [],
  };
}

/** { state, result } as POST /dynflow/tasks/status lists it. */
export function jobStatus(job: JobRecord): { state: string; result: string } {
  return planState(job);
}

/**
 * Dynflow keeps a batch's parent plan running until its last child plan ends, and Foreman's poll
 * treats a child missing from the answer as gone only when its parent is absent or stopped
 * (docs/protocol/rex-pull.md §1.5): so running/pending while any child runs, then stopped/success.
 */
export function parentStatus(parent: ParentRecord): { state: string; result: string } {
  return parent.unfinished > 0 ? { state: 'running', result: 'pending' } : { state: 'stopped', result: 'success' };
}

export function jobPlanHash(job: JobRecord, result: OutputItem[], now: number): Record<string, unknown> {
  const id = job.taskId;
  const { task_id: _dropped, ...given } = job.input;
  const callbackTaskId = (job.callback as { task_id?: string } | null)?.task_id ?? id;
  const actions: Record<string, unknown>[] = [
    {
      class: RUN_SCRIPT,
      execution_plan_id: id,
      id: 1,
      plan_step_id: 1,
      run_step_id: null,
      finalize_step_id: null,
      input: job.callback === null ? given : { ...given, callback: job.callback },
      output: {},
    },
    {
      class: PULL_SCRIPT,
      execution_plan_id: id,
      id: 2,
      plan_step_id: 2,
      run_step_id: 4,
      finalize_step_id: null,
      input: { ...given, task_id: callbackTaskId },
      output: pullScriptOutput(job, result),
    },
  ];
  if (job.callback !== null) {
    actions.push({
      class: CALLBACK_ACTION,
      execution_plan_id: id,
      id: 3,
      plan_step_id: 3,
      run_step_id: 5,
      finalize_step_id: null,
      input: {
        callback: job.callback,
        data: { class: 'Dynflow::ExecutionPlan::OutputReference', execution_plan_id: id, step_id: 4, action_id: 2, subkeys: [] },
      },
      output: {},
    });
  }
  const runSteps = job.callback === null ? [4] : [4, 5];
  return {
    id,
    class: PLAN_CLASS,
    ...planState(job),
    root_plan_step_id: 1,
    run_flow: sequence(runSteps),
    finalize_flow: sequence([]),
    step_ids: job.callback === null ? [1, 2, 4] : [1, 2, 3, 4, 5],
    ...times(job.createdAt, job.finishedAt, now),
    actions,
  };
}

export function parentPlanHash(parent: ParentRecord, now: number): Record<string, unknown> {
  return {
    id: parent.id,
    class: PLAN_CLASS,
    ...parentStatus(parent),
    root_plan_step_id: 1,
    run_flow: sequence([2]),
    finalize_flow: sequence([]),
    step_ids: [1, 2],
    ...times(parent.createdAt, parent.unfinished > 0 ? null : (parent.lastFinishedAt ?? parent.createdAt), now),
    actions: [
      {
        class: BATCH_ACTION,
        execution_plan_id: parent.id,
        id: 1,
        plan_step_id: 1,
        run_step_id: 2,
        finalize_step_id: null,
        input: { operation: parent.operation, children: parent.children },
        output: {},
      },
    ],
  };
}
