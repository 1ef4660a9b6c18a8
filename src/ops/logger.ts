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
    this.entry(SP_LEVEL[String(info.level)] ?? 'INFO', String(info.message), info.request_id);
    next();
  }

  entry(level: string, message: string, requestId: unknown): void {
    const entry: { timestamp: number; level: string; message: string; request_id?: string } = { timestamp: Date.now() / 1000, level, message };
    if (typeof requestId === 'string') entry.request_id = requestId;
    this.buffer.push(entry);
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
  private pending = '';
  private readonly flushNow = () => this.flush();

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    this.line(String(info[MESSAGE]));
    next();
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

/** Characters gathered before a write even within one event-loop turn. */
const FLUSH_AT = 64 * 1024;

const safeJson = winston.format.json();

let isoMs = 0;
let isoText = '';

/** new Date().toISOString(), formatted once per millisecond: many lines share one. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/**
 * One JSON object per line, timestamp, level and message first. Plain JSON.stringify: winston's
 * json format (sorted keys, a replacer call per value) cost several µs per request line; what
 * plain JSON cannot write (a BigInt, a cycle) still goes through it.
 */
const jsonLine = winston.format((info) => {
  const timestamp = isoNow();
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

/** Writes an INFO entry with fields, as logger.info(message, fields) would. */
export type InfoWriter = (message: string, fields: Record<string, unknown>) => void;

const writers = new WeakMap<Logger, InfoWriter>();

/**
 * The request log's way in: the same line on stdout and the same /logs entry as logger.info,
 * under the same level and silencing, without winston's stream pipeline (a transform stream
 * and a writable per transport, for every entry). A logger not made by createLogger gets
 * logger.info itself.
 */
export function infoWriter(logger: Logger): InfoWriter {
  return writers.get(logger) ?? ((message, fields) => logger.info(message, fields));
}

const NPM_LEVELS: Record<string, number> = winston.config.npm.levels;

function directInfo(logger: Logger, console: Console, buffer: BufferTransport, format: 'json' | 'text'): InfoWriter {
  const enabled = (t: Transport) => !t.silent && (NPM_LEVELS[t.level ?? logger.level] ?? -1) >= NPM_LEVELS.info!;
  return (message, fields) => {
    if ((NPM_LEVELS[logger.level] ?? -1) < NPM_LEVELS.info!) return;
    if (enabled(console)) {
      console.line(format === 'json' ? jsonText(message, fields) : `${isoNow()} INFO ${message} ${JSON.stringify(fields)}`);
    }
    if (enabled(buffer)) buffer.entry('INFO', message, fields.request_id);
  };
}

/** As jsonLine writes an INFO entry, with fields after message (they must not repeat those three). */
function jsonText(message: string, fields: Record<string, unknown>): string {
  try {
    // Spliced rather than spread into one object: half the time, the same text.
    const rest = JSON.stringify(fields);
    return `{"timestamp":"${isoNow()}","level":"info","message":${JSON.stringify(message)}${rest.length > 2 ? `,${rest.slice(1)}` : '}'}`;
  } catch {
    // What plain JSON cannot write (a BigInt, a cycle) goes through winston's format, as in jsonLine.
    const info = { ...fields, level: 'info', message, timestamp: isoNow() };
    return String((safeJson.transform(info, safeJson.options) as Record<symbol, unknown>)[MESSAGE]);
  }
}

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
  const recent = new BufferTransport(buffer);
  const logger = winston.createLogger({
    level: WINSTON_LEVEL[level],
    // winston's default logger-level format is json: every entry was stringified once more
    // before the transports formatted it their own way.
    format: passThrough(),
    transports: [console, recent],
  });
  writers.set(logger, directInfo(logger, console, recent, format));
  return logger;
}
