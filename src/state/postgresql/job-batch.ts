// The operations of one group transaction (rex/group-commit.ts) run side by side on its one
// connection, and what they ask of the spool while all of them are waiting goes together: the
// fetches (deliver) of different jobs become one statement, their hosts' updates (applyUpdates)
// two, whatever their number. That is what a spool of thousands of hosts spends its time on;
// every other change runs on its own, in the order asked. A job asked for twice in one round
// waits for the next, so that changes to one job still follow each other. Each change guards
// the state it starts from (job-changes.ts), so operations interleaving is as safe as separate
// transactions. The first failure stops the group: the caller runs it again, one operation
// after the other (postgresql/job-store.ts).
import type { JobChanges, JobOp } from '../job-store.js';
import type { DeliverRequest, PgChanges, UpdateRequest } from './job-changes.js';

type Waiting<R> = { resolve(value: R): void; reject(err: unknown): void };
type Request = { kind: 'deliver'; req: DeliverRequest } | { kind: 'update'; req: UpdateRequest } | { kind: 'single'; run(): Promise<unknown> };
type Asked =
  | ({ kind: 'deliver'; req: DeliverRequest } & Waiting<Awaited<ReturnType<PgChanges['deliver']>>>)
  | ({ kind: 'update'; req: UpdateRequest } & Waiting<Awaited<ReturnType<PgChanges['applyUpdates']>>>)
  | ({ kind: 'single'; run(): Promise<unknown> } & Waiting<unknown>);
type Single = Extract<Asked, { kind: 'single' }>;

/** Runs every operation; their values in order, or the first failure (the transaction is then lost). */
export async function runBatched<T>(changes: PgChanges, ops: ReadonlyArray<JobOp<T>>): Promise<T[]> {
  const queue: Asked[] = [];
  let failure: { err: unknown } | undefined;
  let wake: (() => void) | undefined;
  const poke = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const ask = <R>(asked: Request): Promise<R> =>
    new Promise<R>((resolve, reject) => {
      if (failure) return reject(failure.err);
      queue.push({ ...asked, resolve, reject } as Asked);
      poke();
    });
  const single = <R>(run: () => Promise<R>) => ask<R>({ kind: 'single', run });
  const tx: JobChanges = {
    deliver: (jobUuid, host, delivery, now) => ask({ kind: 'deliver', req: { jobUuid, host, delivery, now } }),
    applyUpdates: (jobUuid, host, delivery, updates, now, maxOutputBytes) =>
      ask({ kind: 'update', req: { jobUuid, host, delivery, updates, now, maxOutputBytes } }),
    insertLaunch: (parent, jobs, now) => single(() => changes.insertLaunch(parent, jobs, now)),
    task: (taskId) => single(() => changes.task(taskId)),
    finish: (taskId, exit, lines, now, onlyFrom) => single(() => changes.finish(taskId, exit, lines, now, onlyFrom)),
    requestStop: (taskId, line, killDue, now) => single(() => changes.requestStop(taskId, line, killDue, now)),
    endOrphan: (taskId, line, now) => single(() => changes.endOrphan(taskId, line, now)),
    claimDeadlines: (now, limit) => single(() => changes.claimDeadlines(now, limit)),
  };

  const values: T[] = new Array<T>(ops.length);
  let running = ops.length;
  const fail = (err: unknown) => {
    failure ??= { err };
    for (const a of queue.splice(0)) a.reject(failure.err);
  };
  ops.forEach((op, i) => {
    op(tx)
      .then((v) => void (values[i] = v), fail)
      .finally(() => {
        running -= 1;
        poke();
      });
  });
  while (running > 0 && !failure) {
    if (queue.length === 0) await new Promise<void>((r) => (wake = r));
    // Every operation that can go on reaches its next request first: they then go together.
    await new Promise((r) => setImmediate(r));
    if (failure) break;
    try {
      await runRound(changes, queue);
    } catch (err) {
      fail(err);
    }
  }
  if (failure) throw failure.err;
  return values;
}

/** One round: what the queue holds, each job once; a job asked for again stays queued. */
async function runRound(changes: PgChanges, queue: Asked[]): Promise<void> {
  const now = queue.splice(0);
  const seen = new Set<string>();
  const singles: Single[] = [];
  const delivers: Extract<Asked, { kind: 'deliver' }>[] = [];
  const updates: Extract<Asked, { kind: 'update' }>[] = [];
  for (const a of now) {
    if (a.kind === 'single') {
      singles.push(a);
      continue;
    }
    if (seen.has(a.req.jobUuid)) {
      queue.push(a);
      continue;
    }
    seen.add(a.req.jobUuid);
    if (a.kind === 'deliver') delivers.push(a);
    else updates.push(a);
  }
  const settle = async <R>(batch: Waiting<R>[], run: () => Promise<R[]>) => {
    if (batch.length === 0) return;
    try {
      const results = await run();
      batch.forEach((a, i) => a.resolve(results[i]!));
    } catch (err) {
      for (const a of batch) a.reject(err);
      throw err;
    }
  };
  for (const s of singles) await settle([s], async () => [await s.run()]);
  await settle(delivers, () => changes.deliverMany(delivers.map((a) => a.req)));
  await settle(updates, () => changes.applyUpdatesMany(updates.map((a) => a.req)));
}
