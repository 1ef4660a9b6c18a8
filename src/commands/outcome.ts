// What a command's action leaves behind: an exit status, or 'serving' for a process that runs until
// a signal. cli.ts exits with the status once the action resolves, so that open handles (keep-alive
// pools, timers) never hold a finished command open.
export type Outcome = number | 'serving';

let last: Outcome = 0;

/** Wraps a command's action so that its outcome reaches cli.ts. */
export function action<A extends unknown[]>(fn: (...args: A) => Outcome | Promise<Outcome>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    last = await fn(...args);
  };
}

export function lastOutcome(): Outcome {
  return last;
}
