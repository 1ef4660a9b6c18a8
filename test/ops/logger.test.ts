// The log's lines: JSON objects with timestamp, level and message first (as winston wrote them),
// a readable form for terminals, the level filter, silencing, and the /logs entries.
import { describe, it, expect, afterEach, jest } from '@jest/globals';
import { createLogger, FLUSH_MS } from '../../src/ops/logger.js';
import { LogBuffer } from '../../src/ops/log-buffer.js';

/** Lines the logger writes to stdout, once its turn's batch is flushed. */
async function captured(run: () => void): Promise<string[]> {
  const out: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out.push(String(chunk));
    return true;
  });
  try {
    run();
    // Lines are written together FLUSH_MS after the first; a later timer runs after that one.
    await new Promise((r) => setTimeout(r, FLUSH_MS + 5));
  } finally {
    spy.mockRestore();
  }
  return out.join('').split('\n').filter(Boolean);
}

describe('logger', () => {
  afterEach(() => {
    jest.restoreAllMocks();
  });

  it('writes JSON lines, timestamp, level and message first, then the fields in their order', async () => {
    const logs = new LogBuffer();
    const logger = createLogger('INFO', logs, 'json');
    const lines = await captured(() => {
      logger.info('GET /dhcp 200', { request_id: 'r-1', session_id: undefined, status: 200, backends: [{ backend: 'a', ms: 1.5 }] });
      logger.warn('no fields');
      logger.error('odd field names', { level: 'x', message: 'y', timestamp: 'kept', n: 10n });
    });
    expect(lines).toHaveLength(3);
    const first = JSON.parse(lines[0]!);
    expect(Object.keys(first)).toEqual(['timestamp', 'level', 'message', 'request_id', 'status', 'backends']);
    expect(first).toMatchObject({ level: 'info', message: 'GET /dhcp 200', request_id: 'r-1', status: 200, backends: [{ backend: 'a', ms: 1.5 }] });
    expect(new Date(first.timestamp).toISOString()).toBe(first.timestamp);
    expect(JSON.parse(lines[1]!)).toEqual({ timestamp: expect.any(String), level: 'warn', message: 'no fields' });
    // A field cannot replace level or message; a BigInt is written as a string.
    expect(JSON.parse(lines[2]!)).toEqual({ timestamp: 'kept', level: 'error', message: 'odd field names', n: '10' });
    expect(logs.query()).toMatchObject({
      logs: [
        { level: 'INFO', message: 'GET /dhcp 200', request_id: 'r-1' },
        { level: 'WARN', message: 'no fields' },
        { level: 'ERROR', message: 'odd field names' },
      ],
    });
  });

  it('drops entries below its level, also after the level is changed', async () => {
    const logs = new LogBuffer();
    const logger = createLogger('WARN', logs, 'json');
    const lines = await captured(() => {
      logger.info('dropped');
      logger.debug('dropped');
      logger.log('error', 'kept');
      logger.level = 'debug';
      logger.debug('kept too');
    });
    expect(lines.map((l) => JSON.parse(l).message)).toEqual(['kept', 'kept too']);
    expect((logs.query() as { logs: unknown[] }).logs).toHaveLength(2);
  });

  it('writes readable lines for a terminal, and a silenced console writes nothing', async () => {
    const logger = createLogger('DEBUG', new LogBuffer(), 'text');
    const lines = await captured(() => logger.debug('hello', { backend: 'a' }));
    expect(lines).toEqual([expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z DEBUG hello \{"backend":"a"\}$/)]);
    for (const t of logger.transports) if (t.constructor.name === 'Console') t.silent = true;
    expect(await captured(() => logger.info('quiet'))).toEqual([]);
  });

  it('writes the same lines before winston is attached as after', async () => {
    const fields = { request_id: 'r-2', method: 'GET', path: '/dhcp', status: 200, ms: 0.4, backends: [{ backend: 'a', ms: 0.3 }] };
    const early = createLogger('INFO', new LogBuffer(), 'json', { deferWinston: true });
    const late = createLogger('INFO', new LogBuffer(), 'json', { deferWinston: true });
    await late.attach();
    const shape = async (logger: typeof early) => (await captured(() => logger.info('GET /dhcp 200', fields))).map((l) => ({ ...JSON.parse(l), timestamp: 'T' }));
    const before = await shape(early);
    expect(before).toEqual([{ timestamp: 'T', level: 'info', message: 'GET /dhcp 200', ...fields }]);
    expect(await shape(late)).toEqual(before);
    await early.attach();
    expect(await shape(early)).toEqual(before);
    early.level = 'warn';
    expect(await captured(() => early.info('dropped'))).toEqual([]);
  });

  it('keeps the newest entries in /logs, oldest first, and errors pushed out in the tail', () => {
    const logs = new LogBuffer(3, 2, 3);
    logs.add(1, 'ERROR', 'e1', 'r-1');
    for (let i = 2; i <= 6; i++) logs.add(i, 'INFO', `i${i}`);
    const doc = logs.query() as { logs: { timestamp: number; level: string; message: string; request_id?: string }[] };
    expect(doc.logs).toEqual([
      { timestamp: 1, level: 'ERROR', message: 'e1', request_id: 'r-1' },
      { timestamp: 4, level: 'INFO', message: 'i4' },
      { timestamp: 5, level: 'INFO', message: 'i5' },
      { timestamp: 6, level: 'INFO', message: 'i6' },
    ]);
    expect((logs.query(4.5) as typeof doc).logs.map((e) => e.message)).toEqual(['i5', 'i6']);
  });
});
