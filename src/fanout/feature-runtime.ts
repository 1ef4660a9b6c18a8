// One feature as the policies run it: its policy, its backends and their order. Built by the
// Runtime from the config; kept apart from the request context so that the Runtime does not
// import what imports it.
import type { FailoverOrder, OnBackendDown, PolicyName } from '../config/types.js';
import type { Backend } from '../backends/backend.js';

export interface FeatureRuntime {
  name: string;
  policy: PolicyName;
  order: FailoverOrder;
  /** In configured order; for `primary` the first one is the primary. */
  backends: Backend[];
  /** Round-robin cursor, advanced once per request. */
  cursor: number;
  onBackendDown: OnBackendDown;
  minSuccess: number;
}
