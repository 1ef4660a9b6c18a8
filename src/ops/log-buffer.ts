// proxy-proxy's own recent log lines, served at /logs in the smart proxy's shape
// (SP lib/proxy/log_buffer/buffer.rb): a main ring of `size` entries plus a tail that keeps
// errors (level >= level_tail) longer, so a burst of info lines cannot push them out.
//
// Every request adds an entry, and each lives for `size` requests: long enough to outlive the
// young generation. The main ring is therefore kept as parallel arrays written in place (no
// object per entry, no shifting); /logs, rarely asked, builds the objects.

export interface BufferedEntry {
  timestamp: number;
  level: string;
  message: string;
  request_id?: string;
}

const LEVEL_RANK: Record<string, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };

export class LogBuffer {
  private readonly times: Float64Array;
  private readonly levels: string[];
  private readonly messages: string[];
  private readonly ids: (string | undefined)[];
  /** Where the next entry goes; entries are oldest-first from here once the ring is full. */
  private next = 0;
  private count = 0;
  private tail: BufferedEntry[] = [];

  constructor(
    readonly size = 2000,
    readonly tailSize = 1000,
    readonly levelTail = 3,
  ) {
    this.times = new Float64Array(size);
    this.levels = new Array<string>(size).fill('');
    this.messages = new Array<string>(size).fill('');
    this.ids = new Array<string | undefined>(size).fill(undefined);
  }

  push(entry: BufferedEntry): void {
    this.add(entry.timestamp, entry.level, entry.message, entry.request_id);
  }

  /** One entry; timestamp in epoch seconds. */
  add(timestamp: number, level: string, message: string, requestId?: string): void {
    if (this.size === 0) return;
    const i = this.next;
    if (this.count === this.size) {
      // The oldest entry leaves the main ring; an error moves to the tail.
      if ((LEVEL_RANK[this.levels[i]!] ?? 0) >= this.levelTail) {
        this.tail.push(this.entryAt(i));
        if (this.tail.length > this.tailSize) this.tail.shift();
      }
    } else this.count++;
    this.times[i] = timestamp;
    this.levels[i] = level;
    this.messages[i] = message;
    this.ids[i] = requestId;
    this.next = i + 1 === this.size ? 0 : i + 1;
  }

  private entryAt(i: number): BufferedEntry {
    const entry: BufferedEntry = { timestamp: this.times[i]!, level: this.levels[i]!, message: this.messages[i]! };
    const id = this.ids[i];
    if (id !== undefined) entry.request_id = id;
    return entry;
  }

  /** The /logs document; entries strictly newer than fromTimestamp (epoch seconds) when given. */
  query(fromTimestamp?: number): unknown {
    const main: BufferedEntry[] = [];
    const first = this.count === this.size ? this.next : 0;
    for (let k = 0; k < this.count; k++) main.push(this.entryAt((first + k) % this.size));
    const all = [...this.tail, ...main];
    const logs = fromTimestamp === undefined ? all : all.filter((e) => e.timestamp > fromTimestamp);
    return {
      info: { size: this.size, tail_size: this.tailSize, level: null, level_tail: this.levelTail, failed_modules: {} },
      logs,
    };
  }
}
