// A job as Foreman's launch makes it, numbered: the spool tests' common fixture.
import type { NewJob } from '../../src/state/job-store.js';

export function newJob(n: number, over: Partial<NewJob> = {}): NewJob {
  return {
    taskId: `task-${n}`,
    parentId: null,
    jobUuid: `uuid-${n}`,
    host: `h${n}.example.test`,
    operation: 'ssh',
    callback: { task_id: `ft-${n}`, step_id: 3 },
    input: {},
    script: 'echo hi',
    effectiveUser: null,
    baseUrl: 'https://proxy.example.test',
    pickupDue: null,
    execDue: null,
    ...over,
  };
}
