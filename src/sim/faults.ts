// Faults the control API can inject into the API port, and the log of every API call received.

export interface FailNth {
  n: number;
  status: number;
  body: string;
}

/**
 * What a matching call gets: an error answer (default); no answer at all; a broken connection
 * before anything is applied; or the call applied with its answer never sent (the case where a
 * proxy cannot know whether its write happened).
 */
export type FailAction = 'answer' | 'hang' | 'reset' | 'apply_then_hang';
const FAIL_ACTIONS: FailAction[] = ['answer', 'hang', 'reset', 'apply_then_hang'];

export interface FailPath {
  method?: string;
  pattern: string;
  status: number;
  body: string;
  action: FailAction;
}

export interface FaultState {
  refuse: boolean;
  delay_ms: number;
  hang: boolean;
  /** `remaining` counts down the API calls still to come before the failing one. */
  fail_nth: (FailNth & { remaining: number }) | null;
  fail_path: FailPath[];
}

/** What the intake does with one API call. */
export type FaultDecision =
  | { kind: 'pass' }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'apply_then_hang' }
  | { kind: 'fail'; status: number; body: string };

export class FaultInputError extends Error {}

function statusOf(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100 || n > 599) throw new FaultInputError(`${what}.status must be an HTTP status`);
  return n;
}

export class Faults {
  state: FaultState = Faults.clean();

  static clean(): FaultState {
    return { refuse: false, delay_ms: 0, hang: false, fail_nth: null, fail_path: [] };
  }

  /** Applies a POST /faults body; `refuse` is acted on by the caller. */
  update(body: Record<string, unknown>): void {
    if (body.clear === true) this.state = Faults.clean();
    if (body.refuse !== undefined) this.state.refuse = body.refuse === true;
    if (body.hang !== undefined) this.state.hang = body.hang === true;
    if (body.delay_ms !== undefined) {
      const ms = Number(body.delay_ms);
      if (!Number.isFinite(ms) || ms < 0) throw new FaultInputError('delay_ms must be a number >= 0');
      this.state.delay_ms = ms;
    }
    if (body.fail_nth !== undefined) {
      if (body.fail_nth === null) this.state.fail_nth = null;
      else {
        const f = body.fail_nth as Record<string, unknown>;
        const n = Number(f.n);
        if (!Number.isInteger(n) || n < 1) throw new FaultInputError('fail_nth.n must be an integer >= 1');
        this.state.fail_nth = { n, status: statusOf(f.status ?? 500, 'fail_nth'), body: String(f.body ?? ''), remaining: n };
      }
    }
    if (body.fail_path !== undefined) {
      if (body.fail_path === null) this.state.fail_path = [];
      else {
        const f = body.fail_path as Record<string, unknown>;
        const pattern = String(f.pattern ?? '');
        try {
          new RegExp(pattern);
        } catch {
          throw new FaultInputError('fail_path.pattern is not a valid regular expression');
        }
        const action = (f.action ?? 'answer') as FailAction;
        if (!FAIL_ACTIONS.includes(action)) throw new FaultInputError(`fail_path.action must be one of ${FAIL_ACTIONS.join(', ')}`);
        this.state.fail_path.push({
          method: f.method === undefined ? undefined : String(f.method).toUpperCase(),
          pattern,
          status: statusOf(f.status ?? 500, 'fail_path'),
          body: String(f.body ?? ''),
          action,
        });
      }
    }
  }

  /** Called once per API call, in arrival order. */
  decide(method: string, path: string): FaultDecision {
    const nth = this.state.fail_nth;
    if (nth) {
      nth.remaining -= 1;
      if (nth.remaining <= 0) {
        this.state.fail_nth = null;
        return { kind: 'fail', status: nth.status, body: nth.body };
      }
    }
    if (this.state.hang) return { kind: 'hang' };
    for (const f of this.state.fail_path) {
      if ((f.method === undefined || f.method === method) && new RegExp(f.pattern).test(path)) {
        if (f.action !== 'answer') return { kind: f.action };
        return { kind: 'fail', status: f.status, body: f.body };
      }
    }
    return { kind: 'pass' };
  }
}

export interface CallRecord {
  method: string;
  path: string;
  /** The raw query string, without '?'. */
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Arrival time, ms since the epoch. */
  at: number;
}

/** Oldest calls are dropped past this many, so long benchmark runs stay bounded. */
const MAX_CALLS = 100_000;

export class CallLog {
  calls: CallRecord[] = [];

  push(c: CallRecord): void {
    this.calls.push(c);
    if (this.calls.length > MAX_CALLS) this.calls.splice(0, this.calls.length - MAX_CALLS);
  }

  clear(): void {
    this.calls = [];
  }
}
