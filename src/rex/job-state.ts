// The job state machine (docs/protocol/rex-pull.md §2.2, §2.5, §2.6) and how it reads to Foreman:
//
//   ready_for_pickup --doorbell published--> notified --host fetched--> delivered
//        |                                      |                          |
//        |  cancel / time_to_pickup / execution timeout: finished EXCEPTION |--first update--> running
//        '--------------------------------------'                          |                    |
//                                                    exit update: finished <exit code>  <------'
//   delivered/running + cancel or execution timeout: an MQTT cancel, then the host's exit, or
//   finished EXCEPTION once cancel_grace has passed.
//
// The store applies each arrow as one guarded UPDATE; this module holds the words and the
// mapping to Dynflow's plan states.
import { EXECUTING_STATES, PICKUP_STATES, type JobRecord } from '../state/job-store.js';

export const MESSAGES = {
  notPickedUp: 'The job was not picked up in time',
  cancelled: 'The job was cancelled by the user',
  executionTimeout: 'Execution timeout exceeded',
  notifyingHost: ', notifying the host over MQTT',
  noExit: (graceSeconds: number) => `The host did not report the end of the job within ${graceSeconds} s of being asked to stop it`,
  noReportSinceRestart: (restartedAt: number, waitedSeconds: number) =>
    `No report from the host since proxy-proxy restarted at ${new Date(restartedAt).toISOString()} (or found the instance that served ` +
    `the job gone): the job's end was probably posted while nothing listened (hosts do not retry); given up after ${waitedSeconds} s ` +
    `(rex.lost_report_timeout)`,
};

export type PlanState = 'running' | 'stopped';
export type PlanResult = 'pending' | 'success';

/**
 * A finished job reads 'stopped' / 'success' whatever its exit status. On a real proxy a
 * nonzero exit makes the plan's result 'error', and Foreman's poll then reports "The smart proxy
 * task failed" without reading the output; with 'success' a poll (when callbacks cannot reach
 * Foreman) still carries the output and the exit status, and Foreman fails the host on that.
 */
export function planState(job: JobRecord): { state: PlanState; result: PlanResult } {
  return job.state === 'finished' ? { state: 'stopped', result: 'success' } : { state: 'running', result: 'pending' };
}

/** What a cancel from Foreman does to a job in its current state. */
export function cancelEffect(job: JobRecord): 'finish' | 'stop' | 'none' {
  if (PICKUP_STATES.includes(job.state)) return 'finish';
  if (EXECUTING_STATES.includes(job.state) && !job.stopping) return 'stop';
  return 'none';
}
