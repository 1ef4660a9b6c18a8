// What the retention clean-up prunes, and how long each kind is kept (the configuration's
// *_retention settings, documented in docs/configuration.md).
import type { Config } from '../config/types.js';
import type { JobStore } from './job-store.js';
import type { PluginStore } from './plugin-store.js';
import type { PruneTask } from './retention.js';
import type { StateStore } from './store.js';

export interface RetentionSources {
  config: Config;
  store: StateStore;
  plugins: PluginStore;
  /** The REX spool, when remote execution is enabled. */
  jobs?: Pick<JobStore, 'prune'>;
  /** The heartbeat rows of a cluster (postgresql). */
  instances?: { forgetGone(retentionMs: number, limit: number): Promise<number> };
  /** Tombstones every backend holds (Convergence.pruneTombstones). */
  pruneTombstones: () => Promise<number>;
  now?: () => number;
}

/** 604800 → '7 d', 1800 → '30 min'. */
export function durationWords(seconds: number): string {
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['min', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size} ${unit}`;
  }
  return `${seconds} s`;
}

export function retentionTasks(s: RetentionSources): PruneTask[] {
  const now = (s.now ?? Date.now)();
  const c = s.config;
  const before = (seconds: number) => now - seconds * 1000;
  const tasks: PruneTask[] = [
    { what: `finished sagas older than ${durationWords(c.saga_retention)}`, prune: (limit) => s.store.pruneSagas(before(c.saga_retention), limit) },
    // No age: a tombstone is kept until every backend of its feature holds the delete.
    { what: 'tombstones every backend holds', prune: () => s.pruneTombstones() },
    {
      what: `forwarded dynflow task owners older than ${durationWords(c.dynflow_task_retention)}`,
      prune: (limit) => s.plugins.pruneTaskOwners(before(c.dynflow_task_retention), limit),
    },
    {
      what: `OpenSCAP reports done with older than ${durationWords(c.openscap_report_retention)}`,
      prune: (limit) => s.plugins.pruneArfReports(before(c.openscap_report_retention), limit),
    },
  ];
  const jobs = s.jobs;
  if (jobs) {
    tasks.push({
      what: `finished remote-execution jobs (with their output) older than ${durationWords(c.rex.retention)}`,
      prune: (limit) => jobs.prune(before(c.rex.retention), limit),
    });
  }
  const instances = s.instances;
  if (instances) {
    tasks.push({
      what: `instances gone for more than ${durationWords(c.state.instance_retention)}`,
      prune: (limit) => instances.forgetGone(c.state.instance_retention * 1000, limit),
    });
  }
  return tasks;
}
