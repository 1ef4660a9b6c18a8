// What the status page draws (docs/operations.md, "The status page"): an in-memory hour of the
// daemon's recent past. Every interval (10 s) it samples figures the daemon keeps anyway —
// per-feature answer counts from the traffic window, the catch-up backlog, the REX spool — and
// it records every backend state change the moment it happens, so a down shorter than one
// interval still shows. Nothing here runs per request, and nothing is persisted: a restart
// starts a fresh hour.
import type { TrafficTally } from './traffic-window.js';

/** A backend as its health strip shows it: worst first, in the order the page's legend lists. */
export const STRIP_STATES = ['down', 'ejected', 'maintenance', 'drained', 'catching_up', 'up'] as const;
export type StripState = (typeof STRIP_STATES)[number];

export interface BackendReading {
  name: string;
  state: StripState;
  /** While ejected: when the ejection ends (epoch ms); that moment is no event, so it is remembered. */
  ejectedUntil?: number;
}

/** The REX spool now: jobs per state, finished ones that failed, finished in the last minute. */
export interface SpoolReading {
  byState: Record<string, number>;
  failed: number;
  lastMinute: number;
}

export interface HistorySources {
  backends(): BackendReading[];
  traffic: { tallies(): TrafficTally[]; latest(feature: string, n: number): number[] };
  /** Catch-up backlog per backend (summed over its replicated features). */
  backlog(): Promise<Record<string, number>>;
  /** Undefined when the REX spool is not enabled. */
  spool(): Promise<SpoolReading | undefined>;
}

export interface Transition {
  at: number;
  state: StripState;
  why: string;
  /** An ejection's end as announced when it began (or was last seen). */
  until?: number;
}

/** One feature over one interval: answers, 5xx answers, median latency of those answers. */
export interface FeaturePoint {
  requests: number;
  errors: number;
  p50ms: number | null;
}

/** The spool's bars: pull-mqtt states folded into what a sysadmin asks about. */
export interface SpoolPoint {
  waiting: number;
  notified: number;
  running: number;
  finished: number;
  failed: number;
  perMinute: number;
}
export const SPOOL_STATES = ['waiting', 'notified', 'running', 'finished', 'failed'] as const;

export interface HistorySample {
  /** End of the interval (epoch ms). */
  at: number;
  features: Record<string, FeaturePoint>;
  /** Undefined when it could not be read (state store unreachable). */
  backlog?: Record<string, number>;
  spool?: SpoolPoint;
}

export interface HistoryView {
  /** The window's start: an hour ago, or when this history began if that is later. */
  from: number;
  to: number;
  intervalMs: number;
  samples: HistorySample[];
  /** Per backend, oldest first; the first one may predate `from` (the state the window opens in). */
  transitions: Record<string, Transition[]>;
}

export interface HistoryOptions {
  intervalMs?: number;
  windowMs?: number;
  /** Per backend: a backend flapping every second keeps the latest this many. */
  maxTransitions?: number;
  now?: () => number;
  /** A source that failed (reported once until it works again). */
  onError?: (err: Error) => void;
}

export const DEFAULT_INTERVAL_MS = 10_000;
const HOUR_MS = 3_600_000;

export class StatusHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  private readonly maxTransitions: number;
  private readonly now: () => number;
  private readonly capacity: number;
  private began: number;
  private readonly samples: HistorySample[] = [];
  private readonly transitions = new Map<string, Transition[]>();
  private readonly lastTally = new Map<string, { requests: number; errors: number }>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failing = false;

  constructor(
    private readonly sources: HistorySources,
    private readonly options: HistoryOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.windowMs = options.windowMs ?? HOUR_MS;
    this.maxTransitions = options.maxTransitions ?? 1000;
    this.now = options.now ?? Date.now;
    this.capacity = Math.max(1, Math.ceil(this.windowMs / this.intervalMs));
    this.began = this.now();
  }

  start(): void {
    if (this.timer) return;
    this.began = this.now();
    this.noteBackends('start');
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** A backend's state may have changed (checks, ejection, an operator): recorded at once. */
  noteBackend(name: string, why: string): void {
    const reading = this.sources.backends().find((b) => b.name === name);
    if (reading) this.record(reading, why);
  }

  /** Takes one sample now; a sample still running is waited for instead of started twice. */
  sample(): Promise<void> {
    this.running ??= this.takeSample().finally(() => (this.running = undefined));
    return this.running;
  }

  view(): HistoryView {
    const to = this.now();
    // A daemon started five minutes ago draws five minutes across the whole width.
    const from = Math.max(to - this.windowMs, this.began);
    const transitions: Record<string, Transition[]> = {};
    for (const [name, list] of this.transitions) transitions[name] = list.slice();
    return { from, to, intervalMs: this.intervalMs, samples: this.samples.filter((s) => s.at > from), transitions };
  }

  private noteBackends(why: string): void {
    const readings = this.sources.backends();
    for (const r of readings) this.record(r, why);
    // A backend a reload removed has no strip any more.
    const names = new Set(readings.map((r) => r.name));
    for (const name of this.transitions.keys()) if (!names.has(name)) this.transitions.delete(name);
  }

  private record(reading: BackendReading, why: string): void {
    const now = this.now();
    let list = this.transitions.get(reading.name);
    if (!list) this.transitions.set(reading.name, (list = []));
    let last = list.at(-1);
    // An ejection ends by the clock, not by an event: it ended when it was due to (and whatever
    // is ejected again now was back in between).
    if (last?.state === 'ejected' && last.until !== undefined && last.until <= now) {
      list.push({ at: Math.max(last.at, last.until), state: reading.state === 'ejected' ? 'up' : reading.state, why: 'ejection over' });
      last = list.at(-1);
    }
    if (last?.state !== reading.state) {
      const entry: Transition = { at: now, state: reading.state, why };
      if (reading.ejectedUntil !== undefined) entry.until = reading.ejectedUntil;
      list.push(entry);
    } else if (reading.ejectedUntil !== undefined) {
      last.until = reading.ejectedUntil;
    }
    this.prune(list, now);
  }

  /** Keeps the window, the one transition before it (the state the window opens in), and the cap. */
  private prune(list: Transition[], now: number): void {
    const from = now - this.windowMs;
    let drop = 0;
    while (drop < list.length - 1 && list[drop + 1]!.at <= from) drop++;
    drop = Math.max(drop, list.length - this.maxTransitions);
    if (drop > 0) list.splice(0, drop);
  }

  private async takeSample(): Promise<void> {
    this.noteBackends('sampled');
    const at = this.now();
    const features: Record<string, FeaturePoint> = {};
    for (const t of this.sources.traffic.tallies()) {
      const before = this.lastTally.get(t.feature) ?? { requests: 0, errors: 0 };
      this.lastTally.set(t.feature, { requests: t.requests, errors: t.errors });
      const requests = Math.max(0, t.requests - before.requests);
      features[t.feature] = { requests, errors: Math.max(0, t.errors - before.errors), p50ms: median(this.sources.traffic.latest(t.feature, requests)) };
    }
    const sample: HistorySample = { at, features };
    const [backlog, spool] = await Promise.allSettled([this.sources.backlog(), this.sources.spool()]);
    if (backlog.status === 'fulfilled') sample.backlog = backlog.value;
    if (spool.status === 'fulfilled' && spool.value) sample.spool = spoolPoint(spool.value);
    const failure = [backlog, spool].find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
    if (failure && !this.failing) this.options.onError?.(failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason)));
    this.failing = failure !== undefined;
    this.samples.push(sample);
    const from = at - this.windowMs;
    let drop = Math.max(0, this.samples.length - this.capacity);
    while (drop < this.samples.length && this.samples[drop]!.at <= from) drop++;
    if (drop > 0) this.samples.splice(0, drop);
  }
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = values.slice().sort((a, b) => a - b);
  return Math.round(sorted[Math.floor((sorted.length - 1) / 2)]! * 100) / 100;
}

/** ready_for_pickup waits for its doorbell; delivered and running are both on the host. */
function spoolPoint(r: SpoolReading): SpoolPoint {
  const n = (s: string) => r.byState[s] ?? 0;
  return {
    waiting: n('ready_for_pickup'),
    notified: n('notified'),
    running: n('delivered') + n('running'),
    finished: Math.max(0, n('finished') - r.failed),
    failed: r.failed,
    perMinute: r.lastMinute,
  };
}
