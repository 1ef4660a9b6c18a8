// winston logger: JSON lines when stdout is not a terminal (journald, shippers), readable lines
// on a terminal, and every entry also lands in the /logs buffer.
import winston from 'winston';
import Transport from 'winston-transport';
import type { LogLevel } from '../config/types.js';
import type { LogBuffer } from './log-buffer.js';

/** smart-proxy level names → winston's npm levels */
const WINSTON_LEVEL: Record<LogLevel, string> = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
const SP_LEVEL: Record<string, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };
/** triple-beam's key for the formatted line */
const MESSAGE = Symbol.for('message');

class BufferTransport extends Transport {
  constructor(private readonly buffer: LogBuffer) {
    super();
  }

  override log(info: Record<string, unknown>, next: () => void): void {
    const entry: { timestamp: number; level: string; message: string; request_id?: string } = {
      timestamp: Date.now() / 1000,
      level: SP_LEVEL[String(info.level)] ?? 'INFO',
      message: String(info.message),
    };
    if (typeof info.request_id === 'string') entry.request_id = info.request_id;
    this.buffer.push(entry);
    next();
  }
}

/** Consoles with lines not yet written; one exit hook writes them all. */
const unflushed = new Set<Console>();
process.once('exit', () => {
  for (const c of unflushed) c.flush();
});

/**
 * Lines to stdout, gathered during one event-loop turn and written together: under load one
 * write(2) carries many request lines instead of one system call each. Order is kept; what is
 * pending at exit is written then. Named Console, as winston's own: the daemon silences the
 * transport by that name.
 */
class Console extends Transport {
  private pending: string[] = [];

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    if (this.pending.length === 0) {
      unflushed.add(this);
      setImmediate(() => this.flush());
    }
    this.pending.push(`${String(info[MESSAGE])}\n`);
    next();
  }

  flush(): void {
    unflushed.delete(this);
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    process.stdout.write(text);
  }
}

const safeJson = winston.format.json();

/**
 * One JSON object per line, timestamp, level and message first. Plain JSON.stringify: winston's
 * json format (sorted keys, a replacer call per value) cost several µs per request line; what
 * plain JSON cannot write (a BigInt, a cycle) still goes through it.
 */
const jsonLine = winston.format((info) => {
  const timestamp = new Date().toISOString();
  const { level, message, ...rest } = info;
  try {
    (info as Record<symbol, unknown>)[MESSAGE] = JSON.stringify({ timestamp, level, message, ...rest });
    return info;
  } catch {
    info.timestamp = timestamp;
    return safeJson.transform(info, safeJson.options) as winston.Logform.TransformableInfo;
  }
});

const passThrough = winston.format((info) => info);

export type Logger = winston.Logger;

export function createLogger(level: LogLevel, buffer: LogBuffer, format: 'json' | 'text' = process.stdout.isTTY ? 'text' : 'json'): Logger {
  const console = new Console({
    format:
      format === 'json'
        ? jsonLine()
        : winston.format.combine(
            winston.format.timestamp(),
            winston.format.printf(({ timestamp, level: lvl, message, ...rest }) => {
              const extra = Object.keys(rest).length ? ` ${JSON.stringify(rest)}` : '';
              return `${String(timestamp)} ${lvl.toUpperCase()} ${String(message)}${extra}`;
            }),
          ),
  });
  return winston.createLogger({
    level: WINSTON_LEVEL[level],
    // winston's default logger-level format is json: every entry was stringified once more
    // before the transports formatted it their own way.
    format: passThrough(),
    transports: [console, new BufferTransport(buffer)],
  });
}
