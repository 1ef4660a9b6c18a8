// proxy-proxy's own recent log lines, served at /logs in the smart proxy's shape
// (SP lib/proxy/log_buffer/buffer.rb): a main ring of `size` entries plus a tail that keeps
// errors (level >= level_tail) longer, so a burst of info lines cannot push them out.

export interface BufferedEntry {
  timestamp: number;
  level: string;
  message: string;
  request_id?: string;
}

const LEVEL_RANK: Record<string, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };

export class LogBuffer {
  private main: BufferedEntry[] = [];
  private tail: BufferedEntry[] = [];

  constructor(
    readonly size = 2000,
    readonly tailSize = 1000,
    readonly levelTail = 3,
  ) {}

  push(entry: BufferedEntry): void {
    this.main.push(entry);
    if (this.main.length > this.size) {
      const dropped = this.main.shift()!;
      if ((LEVEL_RANK[dropped.level] ?? 0) >= this.levelTail) {
        this.tail.push(dropped);
        if (this.tail.length > this.tailSize) this.tail.shift();
      }
    }
  }

  /** The /logs document; entries strictly newer than fromTimestamp (epoch seconds) when given. */
  query(fromTimestamp?: number): unknown {
    const all = [...this.tail, ...this.main];
    const logs = fromTimestamp === undefined ? all : all.filter((e) => e.timestamp > fromTimestamp);
    return {
      info: { size: this.size, tail_size: this.tailSize, level: null, level_tail: this.levelTail, failed_modules: {} },
      logs,
    };
  }
}
