// One HTTP call, answer read whole, through undici's dispatch handler interface. The
// request() API makes a Node Readable stream per answer and a promise chain to consume it; a
// forwarder that holds every answer in memory anyway needs neither, and on a fast pass-through
// that was a noticeable part of the time spent per request.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';

export interface ExchangeAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const EMPTY = Buffer.alloc(0);

/** An answer body larger than `bytes` stops the call with `error`. */
export interface AnswerLimit {
  bytes: number;
  error: () => Error;
}

/** What stops a call: the caller's signal (its deadline) and a long-lived one (the backend went down). */
export interface StopSignals {
  signal?: AbortSignal | undefined;
  /**
   * Lives across many calls. Watched here rather than joined with AbortSignal.any: on Node 20
   * a signal keeps a reference to every signal ever joined with it until it fires, so a backend
   * that stays up would hold one per request for good (a leak the soak showed).
   */
  downSignal?: AbortSignal | undefined;
}

/**
 * Dispatches `opts` on `dispatcher`; resolves with the whole answer, rejects with what undici
 * reports, or with the reason of the signal that stops the call (as request() does).
 */
export function exchange(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, stop: StopSignals = {}, limit?: AnswerLimit): Promise<ExchangeAnswer> {
  return new Promise((resolve, reject) => {
    const { signal, downSignal } = stop;
    if (signal?.aborted) return reject(signal.reason);
    if (downSignal?.aborted) return reject(downSignal.reason);
    dispatcher.dispatch(opts, new Exchange(resolve, reject, signal, downSignal, limit));
  });
}

/**
 * Calls in flight per signal, stopped together when it fires: one listener per signal rather
 * than one per call (requests share deadline signals, and an EventTarget adds and removes a
 * listener in time proportional to how many it has). A call leaves the set when it ends, so a
 * signal that never fires holds only the calls in flight.
 */
const watched = new WeakMap<AbortSignal, Set<Exchange>>();

function watch(signal: AbortSignal, call: Exchange): void {
  let calls = watched.get(signal);
  if (!calls) {
    const set = (calls = new Set());
    watched.set(signal, set);
    const stopAll = () => {
      for (const c of set) c.stop(signal.reason);
      set.clear();
    };
    signal.addEventListener('abort', stopAll, { once: true });
  }
  calls.add(call);
}

class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private reason: unknown;

  constructor(
    private readonly resolve: (a: ExchangeAnswer) => void,
    private readonly reject: (err: unknown) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly downSignal: AbortSignal | undefined,
    private readonly limit: AnswerLimit | undefined,
  ) {
    if (signal) watch(signal, this);
    if (downSignal) watch(downSignal, this);
  }

  /** A signal fired: stop the call now, or as soon as it starts (while queued in the pool). */
  stop(reason: unknown): void {
    // The first signal to fire names the reason.
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason as Error);
  }

  private done(): void {
    if (this.signal) watched.get(this.signal)?.delete(this);
    if (this.downSignal) watched.get(this.downSignal)?.delete(this);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.reason !== undefined) controller.abort(this.reason as Error);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    // 1xx informational answers come before the real one.
    if (statusCode < 200) return;
    this.status = statusCode;
    this.headers = headers;
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.limit && this.size > this.limit.bytes) controller.abort(this.limit.error());
  }

  onResponseEnd(): void {
    this.done();
    const chunks = this.chunks;
    const body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
    this.resolve({ status: this.status, headers: this.headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.done();
    this.reject(error);
  }
}
