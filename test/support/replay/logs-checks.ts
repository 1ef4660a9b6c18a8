// /logs bodies: the info block is compared exactly, every record must have the smart proxy's
// shape, and the from_timestamp answer holds only records newer than the marker. Whether the
// messages themselves follow the recording depends on whose buffer it is (Tolerance.logMessages).
import { expect } from '@jest/globals';
import type { Exchange } from './exchange.js';
import type { ReplayRun } from './replay-run.js';
import type { Answer } from './sender.js';

interface LogEntry {
  timestamp: number;
  level: string;
  message: string;
  request_id?: string;
}

const RECORD_KEYS = ['timestamp', 'level', 'message', 'request_id', 'backtrace'];
const LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'UNKNOWN'];

/** The recorded info block; the recorded body may be truncated, so it is cut out as text. */
function recordedInfo(body: string): unknown {
  const start = body.indexOf('{"info":') + '{"info":'.length;
  return JSON.parse(body.slice(start, body.indexOf(',"logs":[')));
}

const normalizeMessage = (m: string) =>
  m
    .replace(/in [\d.]+ ms/g, 'in N ms')
    .replace(/\([\d.]+ ms\)/g, '(N ms)')
    .replace(/from_timestamp=[\d.]+/g, 'from_timestamp=T');

export function checkLogs(ex: Exchange, answer: Answer, run: ReplayRun, problems: string[]): void {
  let actual: { info: unknown; logs: LogEntry[] };
  try {
    actual = JSON.parse(answer.body) as { info: unknown; logs: LogEntry[] };
  } catch {
    problems.push('logs body is not JSON');
    return;
  }
  const info = recordedInfo(ex.response.body);
  if (JSON.stringify(actual.info) !== JSON.stringify(info)) problems.push(`info ${JSON.stringify(actual.info)} != ${JSON.stringify(info)}`);
  for (const rec of actual.logs) {
    const extra = Object.keys(rec).filter((k) => !RECORD_KEYS.includes(k));
    if (typeof rec.timestamp !== 'number' || typeof rec.message !== 'string' || extra.length > 0) {
      problems.push(`malformed log record ${JSON.stringify(rec)}`);
    }
    if (!LEVELS.includes(rec.level)) problems.push(`log level ${rec.level}`);
    if (rec.request_id !== undefined && typeof rec.request_id !== 'string') problems.push(`request_id ${JSON.stringify(rec.request_id)}`);
  }
  // Never empty: the full buffer holds start-up lines, the filtered one the marker request.
  if (actual.logs.length === 0) problems.push(`${ex.id}: no log records`);
  if (ex.id !== 'logs-from-timestamp') return;
  for (const rec of actual.logs) if (rec.timestamp <= run.fromTimestamp) problems.push(`record not newer than from_timestamp: ${rec.message}`);
  if (run.tolerance.logMessages === 'recorded') {
    const expected = (JSON.parse(ex.response.body) as { logs: LogEntry[] }).logs;
    const shape = (l: LogEntry[]) => l.map((r) => `${r.level} ${normalizeMessage(r.message)} ${r.request_id ? 'id' : '-'}`);
    expect(shape(actual.logs)).toEqual(shape(expected));
  }
}
