// The smart proxy's in-memory log ring (lib/proxy/log_buffer/buffer.rb): 2000 recent records,
// and a tail of 1000 evicted records of level ERROR or worse. GET /logs/ serves it.

export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'FATAL';

const SEVERITY: Record<LogLevel, number> = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3, FATAL: 4 };

export interface LogRecord {
  timestamp: number;
  level: LogLevel;
  message: string;
  request_id?: string;
}

/** Seconds since the epoch with sub-millisecond digits, like Ruby's Time#to_f. */
export function nowSeconds(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

export class LogBuffer {
  private main: LogRecord[] = [];
  private tail: LogRecord[] = [];

  constructor(
    private readonly size = 2000,
    private readonly tailSize = 1000,
    private readonly levelTail: LogLevel = 'ERROR',
    private readonly echo?: (line: string) => void,
  ) {}

  push(level: LogLevel, message: string, requestId?: string): void {
    const rec: LogRecord = { timestamp: nowSeconds(), level, message };
    if (requestId !== undefined) rec.request_id = requestId;
    this.main.push(rec);
    if (this.main.length > this.size) {
      const old = this.main.shift() as LogRecord;
      if (SEVERITY[old.level] >= SEVERITY[this.levelTail]) {
        this.tail.push(old);
        if (this.tail.length > this.tailSize) this.tail.shift();
      }
    }
    this.echo?.(`${new Date(rec.timestamp * 1000).toISOString()} ${level} ${requestId ?? '-'} ${message}`);
  }

  /** Records at or after `from` (seconds); 0 means all. */
  records(from = 0): LogRecord[] {
    const all = [...this.tail, ...this.main];
    return from === 0 ? all : all.filter((r) => r.timestamp >= from);
  }

  info(): Record<string, unknown> {
    return {
      size: this.size,
      tail_size: this.tailSize,
      level: null,
      level_tail: SEVERITY[this.levelTail],
      failed_modules: {},
    };
  }
}
