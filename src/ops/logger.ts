// The daemon's log, on winston: JSON lines when stdout is not a terminal (journald, shippers),
// readable lines on a terminal, and every entry also lands in the /logs buffer. The request path
// logs a line per request, so the costly parts are the project's own: a line is formatted once
// (timestamps once a second, fields spliced rather than copied) and lines reach stdout gathered,
// one write(2) per event-loop turn; winston carries each entry from the level check to the
// transports.
import winston from 'winston';
import TransportStream from 'winston-transport';
import type { LogLevel } from '../config/types.js';
import type { LogBuffer } from './log-buffer.js';

/** winston's keys for the entry's level and finished line. */
const LEVEL = Symbol.for('level');
const MESSAGE = Symbol.for('message');
/** The caller's fields, kept apart from winston's info so that nothing is copied per entry. */
const FIELDS = Symbol('fields');

interface Entry {
  level: string;
  message: string;
  [LEVEL]?: string;
  [MESSAGE]?: string;
  [FIELDS]?: LogFields;
}

/** Level names as winston's npm levels (log_level maps onto them); lower is more severe. */
const RANK: Record<string, number> = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };
const LEVEL_NAME: Record<LogLevel, string> = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
/** Level names → the smart proxy's, as /logs shows them. */
const SP_LEVEL: Record<string, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

export type LogFields = Record<string, unknown>;

/** Consoles with lines not yet written; one exit hook writes them all. */
const unflushed = new Set<Console>();
process.once('exit', () => {
  for (const c of unflushed) c.flush();
});

/** Characters gathered before a write even within one event-loop turn. */
const FLUSH_AT = 64 * 1024;

/**
 * Lines to stdout, gathered during one event-loop turn and written together: under load one
 * write(2) carries many request lines instead of one system call each. Order is kept; what is
 * pending at exit is written then. Named Console, as winston's own: the daemon silences the
 * transport by that name.
 */
class Console extends TransportStream {
  private pending = '';
  private readonly flushNow = () => this.flush();

  override log(info: Entry, done: () => void): void {
    this.line(info[MESSAGE]!);
    done();
  }

  line(text: string): void {
    if (this.pending === '') {
      unflushed.add(this);
      setImmediate(this.flushNow);
    }
    this.pending += `${text}\n`;
    // A long burst within one turn is written in pieces, not held whole.
    if (this.pending.length >= FLUSH_AT) this.flush();
  }

  flush(): void {
    unflushed.delete(this);
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    process.stdout.write(text);
  }
}

/** Entries for /logs (the smart proxy's log buffer). */
class Recent extends TransportStream {
  constructor(private readonly buffer: LogBuffer) {
    super();
  }

  override log(info: Entry, done: () => void): void {
    this.entry(SP_LEVEL[info.level] ?? 'INFO', info.message, info[FIELDS]?.request_id);
    done();
  }

  entry(level: string, message: string, requestId: unknown): void {
    const entry: { timestamp: number; level: string; message: string; request_id?: string } = { timestamp: Date.now() / 1000, level, message };
    if (typeof requestId === 'string') entry.request_id = requestId;
    this.buffer.push(entry);
  }
}

let isoSecond = -1;
/** "2026-01-02T03:04:05." of the current second. */
let isoPrefix = '';

/** new Date().toISOString(), the date and time formatted once a second. */
function isoNow(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** One JSON object per line: timestamp, level and message first, then the fields in their order. */
function jsonLine(level: string, message: string, fields: LogFields | undefined): string {
  try {
    if (fields === undefined || 'timestamp' in fields || 'level' in fields || 'message' in fields) return JSON.stringify(entryObject(level, message, fields));
    // Spliced rather than spread into one object: half the time for a request line, same text.
    const rest = JSON.stringify(fields);
    return `{"timestamp":"${isoNow()}","level":"${level}","message":${JSON.stringify(message)}${rest.length > 2 ? `,${rest.slice(1)}` : '}'}`;
  } catch {
    // What plain JSON cannot write (a BigInt, a cycle) is written as far as it can be.
    return JSON.stringify(entryObject(level, message, fields), safeReplacer());
  }
}

/** As winston built it: timestamp, level, message first; a field may replace the timestamp, not level or message. */
function entryObject(level: string, message: string, fields: LogFields | undefined): LogFields {
  const entry: LogFields = { timestamp: isoNow(), level, message };
  for (const k in fields) if (k !== 'level' && k !== 'message') entry[k] = fields[k];
  return entry;
}

function safeReplacer(): (key: string, value: unknown) => unknown {
  const seen = new WeakSet<object>();
  return (_key, value) => {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'object' && value !== null) {
      if (seen.has(value)) return '[Circular]';
      seen.add(value);
    }
    return value;
  };
}

/** `2026-01-02T03:04:05.678Z INFO message {"field":…}` for a terminal. */
function textLine(level: string, message: string, fields: LogFields | undefined): string {
  let extra = '';
  if (fields && Object.keys(fields).length) {
    try {
      extra = ` ${JSON.stringify(fields)}`;
    } catch {
      extra = ` ${JSON.stringify(fields, safeReplacer())}`;
    }
  }
  return `${isoNow()} ${level.toUpperCase()} ${message}${extra}`;
}

/** The line for stdout, made once per entry: winston's "format" step. */
function lineFormat(style: 'json' | 'text'): winston.Logform.Format {
  return winston.format((info) => {
    const e = info as unknown as Entry;
    e[MESSAGE] = style === 'json' ? jsonLine(e.level, e.message, e[FIELDS]) : textLine(e.level, e.message, e[FIELDS]);
    return info;
  })();
}

export class Logger {
  /** [stdout lines, /logs entries]; each can be silenced. */
  readonly transports: readonly [Console, Recent];
  private readonly winston: winston.Logger;

  constructor(level: LogLevel, buffer: LogBuffer, format: 'json' | 'text') {
    this.transports = [new Console(), new Recent(buffer)];
    this.winston = winston.createLogger({ level: LEVEL_NAME[level], format: lineFormat(format), transports: [...this.transports] });
  }

  /** npm level name: entries less severe than this are dropped. Settable (reload). */
  get level(): string {
    return this.winston.level;
  }

  set level(name: string) {
    this.winston.level = name;
  }

  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }

  log(level: string, message: string, fields?: LogFields): void {
    // Checked here too: an entry below the level costs no object at all.
    if ((RANK[level] ?? RANK.silly!) > (RANK[this.winston.level] ?? RANK.info!)) return;
    const entry: Entry = { level, message, [FIELDS]: fields };
    this.winston.log(entry as unknown as winston.LogEntry);
  }
}

export function createLogger(level: LogLevel, buffer: LogBuffer, format: 'json' | 'text' = process.stdout.isTTY ? 'text' : 'json'): Logger {
  return new Logger(level, buffer, format);
}
