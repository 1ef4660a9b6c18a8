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

/**
 * Dispatches `opts` on `dispatcher`; resolves with the whole answer, rejects with what undici
 * reports, or with `signal.reason` when the signal stops the call (as request() does).
 */
export function exchange(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions, signal?: AbortSignal, limit?: AnswerLimit): Promise<ExchangeAnswer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    dispatcher.dispatch(opts, new Exchange(resolve, reject, signal, limit));
  });
}

class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private chunks: Buffer[] = [];
  private size = 0;
  private reason: unknown;
  private readonly onAbort = () => {
    this.reason = this.signal!.reason;
    // Not started yet (queued in the pool): stopped when it is.
    this.controller?.abort(this.signal!.reason as Error);
  };

  constructor(
    private readonly resolve: (a: ExchangeAnswer) => void,
    private readonly reject: (err: unknown) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly limit: AnswerLimit | undefined,
  ) {
    signal?.addEventListener('abort', this.onAbort);
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
    this.signal?.removeEventListener('abort', this.onAbort);
    const chunks = this.chunks;
    const body = chunks.length === 0 ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
    this.resolve({ status: this.status, headers: this.headers, body });
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    this.reject(error);
  }
}
