// The log's lines: JSON objects with timestamp, level and message first (as winston wrote them),
// a readable form for terminals, the level filter, silencing, and the /logs entries; the request
// line's own path (past winston) writes the same text, and nothing is lost when the process exits.
import { describe, it, expect, afterEach, jest } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

  it('writes the request line past winston with the same text, in call order, and into /logs', async () => {
    const fields = { request_id: 'r-3', session_id: undefined, method: 'GET', path: '/dhcp?x="1"', status: 200, ms: 1.25, feature: 'dhcp', route: 'dhcp.subnets', policy: 'failover', backends: [{ backend: 'a', phase: 'send', outcome: '200', ms: 0.75 }] };
    const message = 'GET /dhcp?x="1" 200 1.25ms dhcp/failover [a:200:0.75ms]';
    const sameTime = (line: string) => line.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/, 'T');
    for (const style of ['json', 'text'] as const) {
      const logs = new LogBuffer();
      const logger = createLogger('INFO', logs, style, { deferWinston: true });
      await logger.attach();
      const lines = await captured(() => {
        logger.info(message, fields);
        logger.request(message, fields);
        logger.warn('after', { request_id: 'r-3' });
        logger.request('last', { request_id: 'r-4' });
      });
      expect(lines).toHaveLength(4);
      // Byte for byte what winston's route writes (bar the millisecond).
      expect(sameTime(lines[1]!)).toBe(sameTime(lines[0]!));
      if (style === 'json') {
        expect(sameTime(lines[1]!)).toBe(
          '{"timestamp":"T","level":"info","message":"GET /dhcp?x=\\"1\\" 200 1.25ms dhcp/failover [a:200:0.75ms]","request_id":"r-3","method":"GET","path":"/dhcp?x=\\"1\\"","status":200,"ms":1.25,"feature":"dhcp","route":"dhcp.subnets","policy":"failover","backends":[{"backend":"a","phase":"send","outcome":"200","ms":0.75}]}',
        );
      }
      expect(lines.map((l) => (style === 'json' ? JSON.parse(l).message : l.split(' ')[2]))).toEqual(style === 'json' ? [message, message, 'after', 'last'] : ['GET', 'GET', 'after', 'last']);
      expect((logs.query() as { logs: unknown[] }).logs).toEqual([
        { timestamp: expect.any(Number), level: 'INFO', message, request_id: 'r-3' },
        { timestamp: expect.any(Number), level: 'INFO', message, request_id: 'r-3' },
        { timestamp: expect.any(Number), level: 'WARN', message: 'after', request_id: 'r-3' },
        { timestamp: expect.any(Number), level: 'INFO', message: 'last', request_id: 'r-4' },
      ]);
    }
  });

  it('stamps a request line with the time it was logged, not the time its batch is written', async () => {
    const logs = new LogBuffer();
    const logger = createLogger('INFO', logs, 'json', { deferWinston: true });
    await logger.attach();
    const at = Date.parse('2026-01-02T03:04:05.678Z');
    const lines = await captured(() => {
      const now = jest.spyOn(Date, 'now').mockReturnValue(at);
      logger.request('GET /dhcp 200', { request_id: 'r-7' });
      now.mockRestore();
    });
    expect(lines).toEqual(['{"timestamp":"2026-01-02T03:04:05.678Z","level":"info","message":"GET /dhcp 200","request_id":"r-7"}']);
    expect(logs.query()).toMatchObject({ logs: [{ timestamp: at / 1000, level: 'INFO', message: 'GET /dhcp 200', request_id: 'r-7' }] });
  });

  it('writes no request line below INFO, and says so to callers that would build one', async () => {
    const logs = new LogBuffer();
    const logger = createLogger('WARN', logs, 'json');
    expect(logger.isLevelEnabled('info')).toBe(false);
    expect(logger.isLevelEnabled('warn')).toBe(true);
    expect(await captured(() => logger.request('dropped', { request_id: 'r-5' }))).toEqual([]);
    logger.level = 'info';
    expect(logger.isLevelEnabled('info')).toBe(true);
    expect((await captured(() => logger.request('kept', { request_id: 'r-6' }))).map((l) => JSON.parse(l).message)).toEqual(['kept']);
    expect((logs.query() as { logs: { message: string }[] }).logs.map((e) => e.message)).toEqual(['kept']);
  });

  // The built logger in a process of its own that exits right after logging: to a file and to a
  // pipe that fills up (process.exit used to drop what the pipe could not take yet), every line is
  // there, whole and in order.
  it('loses no line at exit, to a file or to a pipe read slowly, and /logs had every entry', async () => {
    const dist = resolve('dist/src/ops');
    const script = `
      const [{ createLogger }, { LogBuffer }] = await Promise.all([import(process.argv[1]), import(process.argv[2])]);
      const buffer = new LogBuffer(5000);
      const logger = createLogger('INFO', buffer, 'json', { deferWinston: true });
      logger.request('before winston', { request_id: 'r-first' });
      await logger.attach();
      for (let i = 0; i < 3000; i++) {
        logger.request('GET /dhcp/' + i + ' 200 0.5ms', { request_id: 'r-' + i, method: 'GET', status: 200, ms: 0.5, backends: [{ backend: 'a', phase: 'send', outcome: '200', ms: 0.25 }] });
        if (i % 100 === 99) logger.warn('warn ' + i);
      }
      process.stderr.write(String(buffer.query().logs.length));
      process.exit(0);`;
    const args = ['--input-type=module', '-e', script, join(dist, 'logger.js'), join(dist, 'log-buffer.js')];
    const expected = ['before winston'];
    for (let i = 0; i < 3000; i++) {
      expected.push(`GET /dhcp/${i} 200 0.5ms`);
      if (i % 100 === 99) expected.push(`warn ${i}`);
    }
    const check = (out: string, stderr: string) => {
      expect(stderr).toBe(String(expected.length));
      expect(out.endsWith('\n')).toBe(true);
      const lines = out.slice(0, -1).split('\n');
      expect(lines.map((l) => JSON.parse(l).message)).toEqual(expected);
      expect(lines[1]!.replace(/"timestamp":"[^"]+"/, '"timestamp":"T"')).toBe(
        '{"timestamp":"T","level":"info","message":"GET /dhcp/0 200 0.5ms","request_id":"r-0","method":"GET","status":200,"ms":0.5,"backends":[{"backend":"a","phase":"send","outcome":"200","ms":0.25}]}',
      );
    };

    const dir = mkdtempSync(join(tmpdir(), 'pp-log-exit-'));
    try {
      const file = join(dir, 'out.log');
      const fd = openSync(file, 'w');
      const toFile = spawnSync(process.execPath, args, { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 20_000 });
      closeSync(fd);
      expect(toFile.status).toBe(0);
      check(readFileSync(file, 'utf8'), toFile.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // A reader that waits: the pipe fills (64 KiB) long before the process exits.
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout!.pause();
    let out = '';
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    await new Promise((r) => setTimeout(r, 500));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stdout!.resume();
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(killer);
    // The pipe's end comes soon after the exit; if it does not, what arrived is judged anyway.
    await Promise.race([once(child.stdout!, 'end'), new Promise((r) => setTimeout(r, 5000))]);
    expect(code).toBe(0);
    check(out, err);
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
