// Counters of the spool's events since start, for /metrics and the status page.
export class RexStats {
  doorbellsSent = 0;
  doorbellsResent = 0;
  cancelsSent = 0;
  pickupTimeouts = 0;
  executionTimeouts = 0;
  /** Jobs ended because their host stayed silent after a restart (rex.lost_report_timeout). */
  lostReports = 0;
  /** Group commits of host and Foreman requests, and the changes they carried. */
  groupCommits = 0;
  groupChanges = 0;
}
