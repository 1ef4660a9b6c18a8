// winston logger: JSON lines when stdout is not a terminal (journald, shippers), readable lines
// on a terminal, and every entry also lands in the /logs buffer.
import winston from 'winston';
import Transport from 'winston-transport';
import type { LogLevel } from '../config/types.js';
import type { LogBuffer } from './log-buffer.js';

/** smart-proxy level names → winston's npm levels */
const WINSTON_LEVEL: Record<LogLevel, string> = { DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };
const SP_LEVEL: Record<string, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' };

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

export type Logger = winston.Logger;

export function createLogger(level: LogLevel, buffer: LogBuffer, format: 'json' | 'text' = process.stdout.isTTY ? 'text' : 'json'): Logger {
  const console = new winston.transports.Console({
    format:
      format === 'json'
        ? winston.format.combine(winston.format.timestamp(), winston.format.json())
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
    transports: [console, new BufferTransport(buffer)],
  });
}
