// What stops a backend call: its request's deadline, or the backend being marked down while it
// is in flight. The down signal lives as long as the backend stays up, so the calls that end
// must leave nothing on it: a backend that is up for days answers millions of calls.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Backend } from '../../src/backends/backend.js';
import { BackendCallError, DeadlineReached } from '../../src/backends/call-error.js';

let server: Server;
let url: string;
const hung = new Set<import('node:http').ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    // /hang never answers (until the server closes): the call waits for a signal.
    if (req.url === '/hang') return void hung.add(res);
    res.end('ok');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hung) res.destroy();
  await new Promise((ok) => server.close(ok));
});

function backend(consecutiveFailures = 100): Backend {
  const checks = { interval_ms: 60_000, timeout_ms: 500, fall: 2, rise: 1, path: '/features' };
  return new Backend({ name: 'a', url, connect_timeout_ms: 2000, response_timeout_ms: 10_000 } as never, checks as never, { consecutive_failures: consecutiveFailures, base_ejection_ms: 60_000, max_ejection_ms: 60_000, decay_after_ms: 60_000 }, () => {});
}

/** The long-lived signal a backend's calls listen to (private: read here to see what it holds). */
function downSignal(b: Backend): AbortSignal {
  return (b as unknown as { downSignal: AbortController }).downSignal.signal;
}

/** Signals Node's AbortSignal.any tied to this one and keeps until it fires (0 if none). */
function joinedSignals(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const set = key ? (signal as unknown as Record<symbol, Set<unknown> | undefined>)[key] : undefined;
  return set?.size ?? 0;
}

describe('backend call signals', () => {
  it('leaves nothing on the down signal once calls with their own deadlines have ended', async () => {
    const b = backend();
    try {
      for (let i = 0; i < 300; i++) {
        const deadline = new AbortController();
        const answer = await b.send({ method: 'GET', path: '/features', headers: {} }, { signal: deadline.signal });
        expect(answer.status).toBe(200);
      }
      expect(joinedSignals(downSignal(b))).toBe(0);
      expect(getEventListeners(downSignal(b), 'abort').length).toBeLessThanOrEqual(1);
    } finally {
      await b.destroy();
    }
  });

  it('stops a call in flight at its deadline, named as the deadline', async () => {
    const b = backend();
    try {
      const deadline = new AbortController();
      const call = b.send({ method: 'GET', path: '/hang', headers: {} }, { signal: deadline.signal });
      setTimeout(() => deadline.abort(new DeadlineReached(150)), 150);
      const err = (await call.catch((e: unknown) => e)) as BackendCallError;
      expect(err).toBeInstanceOf(BackendCallError);
      expect(err.kind).toBe('released');
      expect(err.code).toBe('DEADLINE');
    } finally {
      await b.destroy();
    }
  });

  it('stops a call in flight when the backend is marked down, and later calls still go out', async () => {
    const b = backend(1);
    try {
      const deadline = new AbortController();
      const call = b.send({ method: 'GET', path: '/hang', headers: {} }, { signal: deadline.signal });
      // One live failure ejects this backend (consecutive_failures: 1): marked down.
      setTimeout(() => b.health.recordLiveFailure('test'), 150);
      const err = (await call.catch((e: unknown) => e)) as BackendCallError;
      expect(err).toBeInstanceOf(BackendCallError);
      expect(err.kind).toBe('released');
      expect(err.code).toBe('BACKEND_DOWN');
      expect(deadline.signal.aborted).toBe(false);
      const next = await b.send({ method: 'GET', path: '/features', headers: {} }, { signal: deadline.signal });
      expect(next.status).toBe(200);
    } finally {
      await b.destroy();
    }
  });
});
