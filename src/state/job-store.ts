// The durable remote-execution job spool: every job Foreman launched through /dynflow, from
// launch to the callback Foreman accepted. Everything a restart must resume lives here: the
// doorbell schedule, the deadlines, the output, the callbacks still owed. SQLite implements it
// on the same file as the saga log (sqlite/job-store.ts), PostgreSQL on a database several
// instances share (postgresql/job-store.ts). Times are epoch milliseconds.
import { StateUnavailableError } from './unavailable.js';

/**
 * A job's life (docs/protocol/rex-pull.md §2.2): stored, rung, fetched, first update, exit (or
 * ended by us).
 */
export const JOB_STATES = ['ready_for_pickup', 'notified', 'delivered', 'running', 'finished'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Not fetched yet: a doorbell may ring, the pickup deadline applies, a cancel simply ends it. */
export const PICKUP_STATES: readonly JobState[] = ['ready_for_pickup', 'notified'];
/** Fetched and not finished: the host runs it; only its exit (or a stop) ends it. */
export const EXECUTING_STATES: readonly JobState[] = ['delivered', 'running'];

/** An integer exit code from the host, or "EXCEPTION" when proxy-proxy ended the job. */
export type ExitStatus = number | 'EXCEPTION';

export type CallbackState = 'none' | 'pending' | 'done';

export interface NewParent {
  id: string;
  operation: string;
}

export interface NewJob {
  /** The child task id Foreman queries: its own plan uuid for a batch, a fresh one for 'single'. */
  taskId: string;
  parentId: string | null;
  /** The id the host sees in its URLs, never the task id. */
  jobUuid: string;
  /** consumer_uuid ‖ fqdn ‖ hostname: MQTT topic segment and required client-certificate CN. */
  host: string;
  operation: string;
  /** Foreman's {"task_id","step_id"}, posted back with the result; null when none was given. */
  callback: unknown;
  /** The action input as status answers echo it (no script, no secrets). */
  input: Record<string, unknown>;
  script: string;
  effectiveUser: string | null;
  /** Base of the job URLs in the doorbell (no trailing '/'). */
  baseUrl: string;
  pickupDue: number | null;
  execDue: number | null;
}

/** A job as stored: what it was launched with (its deadlines aside), and how far it got. */
export interface JobRecord extends Omit<NewJob, 'pickupDue' | 'execDue'> {
  /** '' once the job finished (it is not needed any more). */
  script: string;
  state: JobState;
  /** PullScript's output.state: the last state before 'finished'. */
  outputState: JobState;
  /** Nonce of the accepted fetch ('' when fetched without one); null before delivery. */
  delivery: string | null;
  exitStatus: ExitStatus | null;
  /** exit_status_timestamp, epoch seconds. */
  exitAt: number | null;
  /** A stop was asked of the host (cancel or execution timeout) and its exit is awaited. */
  stopping: boolean;
  callbackState: CallbackState;
  callbackAttempts: number;
  callbackError: string | null;
  createdAt: number;
  deliveredAt: number | null;
  finishedAt: number | null;
  /** When the host was last heard from for this job (fetch or update); null before the fetch. */
  reportedAt: number | null;
  /**
   * Fetched and unfinished when the previous process ended, and silent since: the start-up
   * time of the process that noticed it. The host's exit may have been sent while nothing
   * listened (hosts never retry), so the job holds no rate-limit slot and ends at `orphanDue`
   * unless the host reports first.
   */
  orphanSince: number | null;
  orphanDue: number | null;
}

export interface ParentRecord {
  id: string;
  operation: string;
  createdAt: number;
  children: number;
  unfinished: number;
  /** When the last child finished (null while none has). */
  lastFinishedAt: number | null;
}

/** One entry of PullScript's output.result, exactly as Foreman reads it. */
export interface OutputItem {
  output_type: string;
  output: string;
  /** Epoch seconds with microseconds; strictly increasing within a job. */
  timestamp: number;
}

/** A parsed host update (rex/update-body.ts). `atUs` absent: the time it was received. */
export type HostUpdate =
  | { kind: 'output'; stream: string; content: string; atUs?: number }
  | { kind: 'exit'; code: number; atUs?: number };

/** accepted: stored; finished: stored and it carried the exit; unknown: no such job for this host and delivery. */
export type UpdateOutcome = 'accepted' | 'finished' | 'unknown';

/** What a doorbell (start or cancel message) is built from. */
export interface DoorbellTarget {
  taskId: string;
  jobUuid: string;
  host: string;
  baseUrl: string;
  effectiveUser: string | null;
  /** Doorbells already sent for this job (0: this is the first). */
  rung: number;
}

/** Which deadline of a job has come: docs/remote-execution.md. */
export type DeadlineKind = 'pickup' | 'execution' | 'kill' | 'orphan';

/** A job with deadlines due, in the order they are to be handled. */
export interface DueDeadline {
  taskId: string;
  kinds: DeadlineKind[];
}

/** What a survivor took over from instances whose lease expired (PostgreSQL; nothing on SQLite). */
export interface TakeOver {
  /** Fetched jobs whose host talked to a gone instance: they became orphans (see markOrphans). */
  orphaned: number;
  /** Callbacks a gone instance had leased or scheduled: due now. */
  callbacks: number;
  /** Doorbells a gone instance had claimed: due now. */
  doorbells: number;
}

/** What claimDoorbells takes (times epoch ms). */
export interface DoorbellClaim {
  now: number;
  limit: number;
  rateLimit: number | null;
  /** Fetched jobs whose host was last heard of before this hold no slot. */
  silentBefore: number;
  slotUntil: number;
  retryAt: number;
}

export interface DueCallback {
  taskId: string;
  callback: unknown;
  attempts: number;
}

/**
 * The spool cannot be reached (its database server is down or unreachable): nothing was
 * recorded. Callers refuse what needs the spool (503) and try again later; the store
 * reconnects by itself.
 */
export class SpoolUnavailableError extends StateUnavailableError {
  constructor(reason: string) {
    super(reason);
    this.name = 'SpoolUnavailableError';
  }
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: Error };

/**
 * The changes a group transaction runs (rex/group-commit.ts). On the store itself each is a
 * transaction of its own; on the handle `transact` passes, each runs inside the caller's.
 */
export interface JobChanges {
  /** All or nothing. Children whose task id is already known are left as they are and listed. */
  insertLaunch(parent: NewParent | null, jobs: NewJob[], now: number): Promise<{ existing: string[] }>;
  task(taskId: string): Promise<JobRecord | undefined>;
  /**
   * Ends a job: appends `debugLines` (output_type 'debug'), records the exit, owes Foreman a
   * callback. Only from `onlyFrom` when given; false when the job was not in such a state.
   */
  finish(taskId: string, exit: ExitStatus, debugLines: string[], now: number, onlyFrom?: readonly JobState[]): Promise<boolean>;
  /**
   * A fetched job is asked to stop: notes `debugLine`, queues the MQTT cancel, and gives the
   * host until `killDue` to report its exit. False when not executing or already stopping.
   */
  requestStop(taskId: string, debugLine: string, killDue: number, now: number): Promise<boolean>;
  /** Delivers the job once: the first fetch wins and fixes the delivery nonce. */
  deliver(jobUuid: string, host: string, delivery: string, now: number): Promise<JobRecord | undefined>;
  /** Output first, in order, then the exit if any; only for the accepted delivery. */
  applyUpdates(jobUuid: string, host: string, delivery: string, updates: HostUpdate[], now: number, maxOutputBytes: number): Promise<UpdateOutcome>;
  /**
   * Ends an orphan (see markOrphans) that is still silent with EXCEPTION and `debugLine`, owes
   * Foreman the callback and queues an MQTT cancel, so that a script still running on the host
   * stops. False when the host reported meanwhile or the job ended otherwise.
   */
  endOrphan(taskId: string, debugLine: string, now: number): Promise<boolean>;
  /**
   * Jobs with a deadline due at `now` (pickup, execution, kill, orphan), at most `limit` jobs,
   * earliest first. On a shared spool they stay locked until the transaction ends and jobs a
   * peer holds are skipped (FOR UPDATE SKIP LOCKED): each deadline fires once in the cluster.
   */
  claimDeadlines(now: number, limit: number): Promise<DueDeadline[]>;
}

/** One change of a group: it gets the transaction's handle and must do all its work through it. */
export type JobOp<T> = (tx: JobChanges) => Promise<T>;

/**
 * Every method returns a promise: a driver may be a network round trip away. Implementations
 * never run two transactions of one store interleaved on one connection.
 */
export interface JobStore extends JobChanges {
  /**
   * Runs the operations in one transaction, in order, each in its own savepoint: one that
   * throws is undone alone and reported, the others commit. `barrier`: the commit is made
   * durable before this resolves (something outside the process acts on it next).
   */
  transact<T>(ops: ReadonlyArray<JobOp<T>>, barrier: boolean): Promise<Settled<T>[]>;
  /**
   * As transact, with the operations chosen by `plan` inside the same transaction: what `plan`
   * claims (claimDeadlines) stays claimed until the operations are committed.
   */
  transactPlanned<T>(plan: (tx: JobChanges) => Promise<ReadonlyArray<JobOp<T>>>, barrier: boolean): Promise<Settled<T>[]>;
  /** Transactions that may usefully run at once (1 for an embedded file, the pool size for a server). */
  readonly parallelism: number;
  /**
   * How long a group commit (rex/group-commit.ts) waits after the one before it began, to carry
   * more changes; absent: none. An embedded file rewrites every page a commit touched.
   */
  readonly commitSpacingMs?: number;

  // --- Foreman side ---
  parent(id: string): Promise<ParentRecord | undefined>;
  output(taskId: string): Promise<OutputItem[]>;
  /** Jobs with their output (what a callback body holds), in few round trips; unknown ids are left out. */
  jobsWithOutput(taskIds: string[]): Promise<Map<string, { job: JobRecord; output: OutputItem[] }>>;
  countJobs(which: 'unfinished' | 'finished' | 'all'): Promise<number>;
  /**
   * At start-up: callbacks leased by a process that is gone (or waiting out a back-off) are due
   * now, so results owed from before a restart go out at once. On a shared spool only those of
   * this instance and of instances whose lease expired: a live peer's lease is its own. Returns
   * how many.
   */
  releaseCallbacks(now: number): Promise<number>;
  /**
   * Now and then, on a shared spool: what instances whose lease expired left (the jobs whose
   * host talked to them, their callback leases and back-offs, their doorbell claims) becomes
   * anyone's, as markOrphans and releaseCallbacks do at a restart. Nothing on SQLite (one
   * instance).
   */
  takeOver(now: number, orphanTimeoutMs: number): Promise<TakeOver>;
  /** Jobs per state (ready_for_pickup, notified, delivered, running, finished). */
  countByState(): Promise<Record<string, number>>;
  /**
   * Finished jobs that failed (an exit status other than 0, EXCEPTION included), and jobs that
   * finished at or after `since` (epoch ms): the status page's failed bar and jobs per minute.
   */
  finishedCounts(since: number): Promise<{ failed: number; recent: number }>;
  countParents(): Promise<number>;

  // --- host side ---
  /** Undelivered job uuids of a host, oldest first. */
  hostQueue(host: string): Promise<string[]>;
  /** The job if this host may fetch it now (not yet delivered), without delivering it. */
  deliverable(jobUuid: string, host: string): Promise<JobRecord | undefined>;
  /** A job of this host that is not finished (for the cancel content URL). */
  activeJob(jobUuid: string, host: string): Promise<JobRecord | undefined>;

  // --- doorbells ---
  /**
   * Jobs rung and not fetched whose slot has not expired, plus jobs fetched and not finished
   * whose host was heard from at `silentBefore` or later and not orphaned by a restart: a job
   * that may never report again holds no slot.
   */
  inFlight(now: number, silentBefore: number): Promise<number>;
  /** Jobs whose (first or next) doorbell is due, oldest due first. */
  dueDoorbells(now: number, limit: number): Promise<DoorbellTarget[]>;
  /**
   * Claims doorbells for the broker: state notified, a rate-limit slot until `slotUntil`,
   * retried at `retryAt` unless confirmed. Only jobs still due are taken (another instance
   * may have rung one meanwhile); returns the task ids taken.
   */
  markRinging(taskIds: string[], now: number, slotUntil: number, retryAt: number): Promise<string[]>;
  /**
   * The doorbells to ring now, claimed as markRinging claims them: due jobs, oldest first, at
   * most `limit`, and no more than leaves `rateLimit` jobs in flight (see inFlight; null: no
   * limit). Counting and claiming are one step for the whole spool: on a shared one, instances
   * claiming at the same moment take turns, so together they never exceed the limit.
   */
  claimDoorbells(claim: DoorbellClaim): Promise<DoorbellTarget[]>;
  /** Next doorbell of still unfetched jobs at `at` (a resend after a confirmed one, or a retry). */
  rescheduleDoorbells(taskIds: string[], at: number): Promise<void>;
  /** Stops whose MQTT cancel has not been confirmed by the broker yet. */
  dueCancels(limit: number): Promise<DoorbellTarget[]>;
  cancelsPublished(taskIds: string[]): Promise<void>;

  // --- deadlines ---
  duePickups(now: number, limit: number): Promise<string[]>;
  dueExecTimeouts(now: number, limit: number): Promise<string[]>;
  dueKills(now: number, limit: number): Promise<string[]>;
  /**
   * At start-up: every fetched, unfinished job not yet marked becomes an orphan of the restart
   * at `restartedAt`, ending `timeoutMs` later unless its host reports first; orphans of an
   * earlier restart keep their start and end `timeoutMs` after it. Returns how many are new.
   * On a shared spool only jobs whose host last talked to this instance or to one whose lease
   * expired: a live peer's are being served.
   */
  markOrphans(restartedAt: number, timeoutMs: number): Promise<number>;
  dueOrphans(now: number, limit: number): Promise<string[]>;
  /** Unfinished orphans, earliest due first. */
  orphans(limit: number): Promise<JobRecord[]>;
  /** The earliest scheduled moment of any kind (deadline, doorbell, callback), if any. */
  nextDue(): Promise<number | undefined>;

  // --- callbacks ---
  dueCallbacks(now: number, limit: number): Promise<DueCallback[]>;
  /**
   * Claims callbacks for a POST: due again at `until` if its outcome is never recorded. Only
   * those still due at `now` are taken (another instance may hold one); returns the ids taken.
   */
  leaseCallbacks(taskIds: string[], now: number, until: number): Promise<string[]>;
  callbacksDelivered(taskIds: string[], now: number): Promise<void>;
  callbacksFailed(retries: { taskId: string; retryAt: number }[], error: string, now: number): Promise<void>;

  /** Forgets finished jobs older than `finishedBefore` whose result Foreman has; then empty old parents. */
  prune(finishedBefore: number, limit: number): Promise<number>;

  close(): Promise<void>;
}
