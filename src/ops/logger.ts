// The daemon's log, on winston: JSON lines when stdout is not a terminal (journald, shippers),
// readable lines on a terminal, and every entry also lands in the /logs buffer. Two sinks of the
// project's own take every entry: stdout gathered, one write(2) for all the lines of FLUSH_MS
// (under load one per event-loop turn was still several a millisecond), and the /logs ring.
// One formatter makes every line (formatLine: timestamps once a second, fields spliced rather
// than copied).
//
// winston carries the daemon's own entries (start-up, reloads, backend changes, warnings,
// errors) from its level check through its format step to one transport feeding both sinks.
// The request log is the one entry per request, and what it cost was nearly all per-entry
// work: Logger.request() takes it past winston's stream pipeline (an object-mode stream write,
// the format step, the info object) straight to the same sinks. Its /logs entry is added at
// once; its line is made by the same formatter when its batch is written (lines made in a run
// cost some 3 µs a request less than one at a time between the requests' other work); stdout is
// written by its descriptor (see writeStdout). Lines are the same either way and in call order:
// the transport finishes each entry before winston's log() returns, and made lines and entries
// wait in one queue. The request handler asks isLevelEnabled() first: below INFO no line or
// fields object is built at all.
//
// winston and its stream stack are some 145 module files: the daemon loads them a second after
// it listens (attachSoon()), not before its first answers. Entries logged before then are written
// straight to the same two sinks, formatted by the same functions: the lines are the same either
// way. docs/operations.md ("Start-up and memory", "The request log").
import { writeSync } from 'node:fs';
import type Winston from 'winston';
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

/** How long after the daemon listens winston is loaded (attachSoon()), ms. */
export const ATTACH_AFTER_MS = 1000;

/** Lines gathered before a write even within FLUSH_MS. */
const FLUSH_AT = 200;
/** How long a line may wait for others to be written with it, ms. */
export const FLUSH_MS = 10;

/** An entry whose line is made when its batch is written: its time (ms), level, message, fields. */
interface Later {
  time: number;
  level: string;
  message: string;
  fields: LogFields;
}

/**
 * Lines to stdout, gathered for FLUSH_MS and written together: under load one write(2) carries
 * many request lines instead of one system call each. Order is kept; what is pending at exit
 * (also process.exit after SIGTERM) is written then. Named Console, as winston's own: the daemon
 * silences the output by that name.
 */
class Console {
  /** Nothing is written while set (tests, in-process daemons). */
  silent = false;
  /** Lines (made) and entries (their lines made at the write), in order. */
  private pending: (string | Later)[] = [];
  private readonly flushNow = () => this.flush();

  constructor(private readonly style: LineStyle) {}

  /** A line made already. */
  line(text: string): void {
    if (!this.silent) this.add(text);
  }

  /**
   * An entry whose line is made with the rest of its batch (formatLine, at its own time): one
   * request's line at a time between its other work cost about twice as much. The fields must
   * not change after this call.
   */
  later(time: number, level: string, message: string, fields: LogFields): void {
    if (!this.silent) this.add({ time, level, message, fields });
  }

  private add(item: string | Later): void {
    if (this.pending.length === 0) {
      unflushed.add(this);
      setTimeout(this.flushNow, FLUSH_MS).unref();
    }
    // A long burst within one turn is written in pieces, not held whole.
    if (this.pending.push(item) >= FLUSH_AT) this.flush();
  }

  flush(): void {
    unflushed.delete(this);
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    let text = '';
    for (const item of items) text += `${typeof item === 'string' ? item : formatLine(this.style, item.level, item.message, item.fields, item.time)}\n`;
    writeStdout(text);
  }
}

/**
 * Lines reach stdout by write(2) on its descriptor, whole and at once, unless it is a terminal
 * (Node writes those synchronously itself) or someone replaced process.stdout.write (tests
 * capture lines that way). Through process.stdout, a pipe or journald's socket that was full
 * kept the rest in memory for later, and process.exit (after SIGTERM) dropped it: a test lost
 * 90 % of a burst's lines that way. Now a reader that stops reading holds the daemon up, as a
 * file (always written synchronously) did. A file went through SyncWriteStream, which turns the
 * string into a Buffer first, at more than the write's own cost (about 1 µs a request line).
 */
function writeStdout(text: string): void {
  const out = process.stdout;
  if (out.isTTY || typeof out.fd !== 'number' || Object.prototype.hasOwnProperty.call(out, 'write')) out.write(text);
  else writeFully(out.fd, text);
}

/** Slept on (Atomics.wait, nobody wakes it) while a pipe is full. */
const pause = new Int32Array(new SharedArrayBuffer(4));

/** All of text to fd, waiting out a full pipe (EAGAIN: Node keeps stdout pipes non-blocking). */
function writeFully(fd: number, text: string): void {
  let n = 0;
  try {
    n = writeSync(fd, text);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
  }
  if (n === text.length && n === Buffer.byteLength(text)) return;
  let rest = Buffer.from(text).subarray(n);
  while (rest.length > 0) {
    try {
      rest = rest.subarray(writeSync(fd, rest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

/** Entries for /logs (the smart proxy's log buffer). */
class Recent {
  silent = false;

  constructor(private readonly buffer: LogBuffer) {}

  /** An entry logged at `time` (ms since the epoch). */
  entry(time: number, level: string, message: string, requestId: unknown): void {
    if (this.silent) return;
    this.buffer.add(time / 1000, level, message, typeof requestId === 'string' ? requestId : undefined);
  }
}

let isoSecond = -1;
/** "2026-01-02T03:04:05." of the current second. */
let isoPrefix = '';

/** new Date(now).toISOString(), the date and time formatted once a second. */
function isoAt(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const ms = now - second * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/** One JSON object per line: timestamp, level and message first, then the fields in their order. */
function jsonLine(level: string, message: string, fields: LogFields | undefined, time: number): string {
  try {
    if (fields === undefined || 'timestamp' in fields || 'level' in fields || 'message' in fields) return JSON.stringify(entryObject(level, message, fields, time));
    // Spliced rather than spread into one object: half the time for a request line, same text.
    const rest = JSON.stringify(fields);
    return `{"timestamp":"${isoAt(time)}","level":"${level}","message":${JSON.stringify(message)}${rest.length > 2 ? `,${rest.slice(1)}` : '}'}`;
  } catch {
    // What plain JSON cannot write (a BigInt, a cycle) is written as far as it can be.
    return JSON.stringify(entryObject(level, message, fields, time), safeReplacer());
  }
}

/** As winston built it: timestamp, level, message first; a field may replace the timestamp, not level or message. */
function entryObject(level: string, message: string, fields: LogFields | undefined, time: number): LogFields {
  const entry: LogFields = { timestamp: isoAt(time), level, message };
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
function textLine(level: string, message: string, fields: LogFields | undefined, time: number): string {
  let extra = '';
  if (fields && Object.keys(fields).length) {
    try {
      extra = ` ${JSON.stringify(fields)}`;
    } catch {
      extra = ` ${JSON.stringify(fields, safeReplacer())}`;
    }
  }
  return `${isoAt(time)} ${level.toUpperCase()} ${message}${extra}`;
}

type LineStyle = 'json' | 'text';

/** The line of an entry logged at `time` (ms since the epoch): the one formatter of every line. */
function formatLine(style: LineStyle, level: string, message: string, fields: LogFields | undefined, time: number): string {
  return style === 'json' ? jsonLine(level, message, fields, time) : textLine(level, message, fields, time);
}

/** An entry and its line to stdout and /logs; winston's transport and the direct path alike. */
function toSinks(console: Console, recent: Recent, level: string, message: string, fields: LogFields | undefined, line: string): void {
  console.line(line);
  recent.entry(Date.now(), SP_LEVEL[level] ?? 'INFO', message, fields?.request_id);
}

/** winston's logger over the two sinks: the format makes the line, one transport feeds both. */
function winstonLogger(w: typeof Winston, TransportStream: typeof import('winston-transport'), level: string, style: LineStyle, console: Console, recent: Recent): Winston.Logger {
  // One transport for both sinks: each transport is a stream write per entry.
  class Sinks extends TransportStream {
    override log(info: Entry, done: () => void): void {
      toSinks(console, recent, info.level, info.message, info[FIELDS], info[MESSAGE]!);
      done();
    }
  }
  // winston's "format" step: the line for stdout, made once per entry.
  const format = w.format((info) => {
    const e = info as unknown as Entry;
    e[MESSAGE] = formatLine(style, e.level, e.message, e[FIELDS], Date.now());
    return info;
  })();
  return w.createLogger({ level, format, transports: [new Sinks()] });
}

export class Logger {
  /** [stdout lines, /logs entries]; each can be silenced. */
  readonly transports: readonly [Console, Recent];
  private winston: Winston.Logger | undefined;
  private attaching: Promise<void> | undefined;
  private attachingSoon: Promise<void> | undefined;
  /** Stops attachSoon()'s timer and settles its promise; set while it waits. */
  private cancelAttach: (() => void) | undefined;
  private levelName: string;

  constructor(
    level: LogLevel,
    buffer: LogBuffer,
    private readonly style: LineStyle,
  ) {
    this.transports = [new Console(style), new Recent(buffer)];
    this.levelName = LEVEL_NAME[level];
  }

  /**
   * attach() a moment after start-up (ATTACH_AFTER_MS): loading winston takes tens of ms of CPU
   * during which no request is answered, so the first requests after the daemon listens (Foreman's
   * /features, connections systemd queued) do not wait for it. Resolves once it is loaded.
   */
  attachSoon(): Promise<void> {
    this.attachingSoon ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => resolve(this.attach()), ATTACH_AFTER_MS).unref();
      this.cancelAttach = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    return this.attachingSoon;
  }

  /** A daemon stopped before attachSoon()'s moment does not load winston any more. */
  cancelSoon(): void {
    this.cancelAttach?.();
  }

  /** Loads winston and hands it every entry from now on (once; later calls wait for the first). */
  attach(): Promise<void> {
    this.attaching ??= Promise.all([import('winston'), import('winston-transport')]).then(
      ([w, t]) => {
        this.winston = winstonLogger(w.default, t.default, this.levelName, this.style, ...this.transports);
      },
      (err: Error) => {
        // The sinks keep working without it; say so once.
        this.warn(`logging without winston: it could not be loaded: ${err.message}`);
      },
    );
    return this.attaching;
  }

  /** npm level name: entries less severe than this are dropped. Settable (reload). */
  get level(): string {
    return this.levelName;
  }

  set level(name: string) {
    this.levelName = name;
    if (this.winston) this.winston.level = name;
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

  /** Whether an entry at this level would be written (winston's name): callers skip building what would be dropped. */
  isLevelEnabled(level: string): boolean {
    return (RANK[level] ?? RANK.silly!) <= (RANK[this.levelName] ?? RANK.info!);
  }

  log(level: string, message: string, fields?: LogFields): void {
    // Checked here too: an entry below the level costs no object at all.
    if (!this.isLevelEnabled(level)) return;
    if (this.winston) {
      const entry: Entry = { level, message, [FIELDS]: fields };
      this.winston.log(entry as unknown as Winston.LogEntry);
      return;
    }
    this.write(level, message, fields);
  }

  /**
   * The request log's line (info): straight to the two sinks past winston's per-entry pipeline,
   * its line made with its batch's by the same formatter (see the header). The fields must not
   * change afterwards.
   */
  request(message: string, fields: LogFields): void {
    if (!this.isLevelEnabled('info')) return;
    const [console, recent] = this.transports;
    const time = Date.now();
    console.later(time, 'info', message, fields);
    recent.entry(time, 'INFO', message, fields.request_id);
  }

  /** An entry that passed the level check, to both sinks: what winston's transport does too. */
  private write(level: string, message: string, fields: LogFields | undefined): void {
    toSinks(...this.transports, level, message, fields, formatLine(this.style, level, message, fields, Date.now()));
  }
}

export interface LoggerOptions {
  /** Leave winston unloaded until attach() is called (the daemon attaches it once it listens). */
  deferWinston?: boolean;
}

export function createLogger(
  level: LogLevel,
  buffer: LogBuffer,
  format: LineStyle = process.stdout.isTTY ? 'text' : 'json',
  options: LoggerOptions = {},
): Logger {
  const logger = new Logger(level, buffer, format);
  if (!options.deferWinston) void logger.attach();
  return logger;
}
