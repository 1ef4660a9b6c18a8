// foreman_ygg_worker's v1 updates and its UpdateAggregator (docs/protocol/rex-pull.md §3 update
// bodies, §4.2), byte-for-byte where it is cheap: Go field order, RFC 3339 timestamps without
// fractions in local time, Go's JSON escaping, and Go's per-byte U+FFFD for UTF-8 cut at a
// 4096-byte chunk edge.
import { isUtf8 } from 'node:buffer';

export type Stream = 'stdout' | 'stderr';

/** Field order as Go marshals YW's V1Update: timestamp, type, exit_code | content, stream. */
export type V1Update =
  | { timestamp: string; type: 'output'; content: string; stream: Stream }
  | { timestamp: string; type: 'exit'; exit_code: number };

/** The worker reads its pipes 4096 bytes at a time; each read is one output update. */
export const CHUNK_BYTES = 4096;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Go's time.Now().Format(time.RFC3339): local time, whole seconds, "Z" or ±hh:mm. */
export function rfc3339(d: Date = new Date()): string {
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
  return (
    `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}` +
    `T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${zone}`
  );
}

export function outputUpdate(stream: Stream, content: string): V1Update {
  return { timestamp: rfc3339(), type: 'output', content, stream };
}

export function exitUpdate(code: number): V1Update {
  return { timestamp: rfc3339(), type: 'exit', exit_code: code };
}

/**
 * Go's string(bytes) keeps invalid UTF-8 and encoding/json then writes one U+FFFD per invalid
 * byte; Node's decoder would fold a truncated sequence into one U+FFFD instead.
 */
export function goString(buf: Buffer): string {
  if (isUtf8(buf)) return buf.toString('utf8');
  let out = '';
  let i = 0;
  while (i < buf.length) {
    const b0 = buf[i]!;
    let size = 0;
    let cp = 0;
    if (b0 < 0x80) {
      size = 1;
      cp = b0;
    } else if (b0 >= 0xc2 && b0 <= 0xdf) {
      size = 2;
      cp = b0 & 0x1f;
    } else if (b0 >= 0xe0 && b0 <= 0xef) {
      size = 3;
      cp = b0 & 0x0f;
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      size = 4;
      cp = b0 & 0x07;
    }
    let valid = size > 0 && i + size <= buf.length;
    for (let j = 1; valid && j < size; j++) {
      const b = buf[i + j]!;
      if ((b & 0xc0) !== 0x80) valid = false;
      else cp = (cp << 6) | (b & 0x3f);
    }
    // Overlong forms, surrogates and values above U+10FFFF are invalid too.
    if (valid && ((size === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (size === 4 && (cp < 0x10000 || cp > 0x10ffff)))) {
      valid = false;
    }
    if (valid) {
      out += String.fromCodePoint(cp);
      i += size;
    } else {
      out += '\ufffd';
      i += 1;
    }
  }
  return out;
}

/** Splits one pipe read into the worker's ≤4096-byte output updates. */
export function chunkOutput(stream: Stream, data: Buffer): V1Update[] {
  const updates: V1Update[] = [];
  for (let off = 0; off < data.length; off += CHUNK_BYTES) {
    updates.push(outputUpdate(stream, goString(data.subarray(off, off + CHUNK_BYTES))));
  }
  return updates;
}

const GO_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** The v1 body exactly as json.Marshal(V1Updates) writes it (HTML-safe escaping included). */
export function encodeV1(updates: V1Update[]): string {
  return JSON.stringify({ version: '1', updates }).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

export interface AggregatorOptions {
  batchSize: number;
  batchSeconds: number;
  /** Sends one batch; failures are the sender's to log — the worker never retries. */
  send(updates: V1Update[]): Promise<void>;
  /** Called with true while a batch is being sent: the worker's output readers block meanwhile. */
  busy?(busy: boolean): void;
}

/**
 * YW's UpdateAggregator: a batch goes out when batchSize updates are queued, when more than
 * batchSeconds passed since the last send (checked only as an update arrives), or on exit.
 * Batches go out one at a time, in order.
 */
export class UpdateAggregator {
  private readonly queue: V1Update[] = [];
  private readonly batch: V1Update[] = [];
  private lastSend = Date.now();
  private draining = false;
  private running: Promise<void> = Promise.resolve();

  constructor(private readonly opts: AggregatorOptions) {}

  add(update: V1Update): void {
    this.queue.push(update);
    if (this.draining) return;
    this.draining = true;
    this.running = this.drain();
  }

  /** Resolves once every added update has been dispatched. */
  async idle(): Promise<void> {
    while (this.draining) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      for (let u = this.queue.shift(); u !== undefined; u = this.queue.shift()) {
        this.batch.push(u);
        const due =
          this.batch.length >= this.opts.batchSize || (Date.now() - this.lastSend) / 1000 > this.opts.batchSeconds || u.type === 'exit';
        if (!due) continue;
        const updates = this.batch.splice(0);
        this.opts.busy?.(true);
        try {
          await this.opts.send(updates);
        } finally {
          this.opts.busy?.(false);
        }
        this.lastSend = Date.now();
      }
    } finally {
      // Cleared in the same turn the queue was seen empty, so the next add() starts a new drain.
      this.draining = false;
    }
  }
}
