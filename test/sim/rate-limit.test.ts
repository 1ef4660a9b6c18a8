// --rate-limit N: a simulator serves at most N API requests a second; faster ones wait their
// turn and are all answered. Only lower bounds on time are checked: a busy machine can make the
// simulator slower, never faster than its limit.
import { describe, it, expect, afterEach } from '@jest/globals';
import http from 'node:http';
import { parseSimArgs, UsageError } from '../../src/sim/options.js';
import { RateLimit } from '../../src/sim/rate-limit.js';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';

function get(base: string, path: string, agent: http.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${base}${path}`, { agent, headers: { accept: 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.setTimeout(20_000, () => req.destroy(new Error('client timeout')));
    req.on('error', reject);
  });
}

describe('simulator --rate-limit', () => {
  let sim: SimProcess | undefined;
  afterEach(async () => {
    await sim?.stop();
    sim = undefined;
  });

  it('is a positive number of requests a second', () => {
    expect(parseSimArgs(['--rate-limit', '250']).rateLimit).toBe(250);
    expect(parseSimArgs([]).rateLimit).toBeUndefined();
    expect(() => parseSimArgs(['--rate-limit', '0'])).toThrow(UsageError);
    expect(() => parseSimArgs(['--rate-limit', 'fast'])).toThrow(/--rate-limit: not a positive number/);
  });

  it('gives each request the next slot, 1/N s after the one before', () => {
    const limit = new RateLimit(1);
    const first = performance.now();
    for (let i = 0; i < 4; i++) {
      const wait = limit.take();
      // Slot i starts i s after the first call: the wait is that, less the time since the first call.
      expect(wait).toBeLessThanOrEqual(i * 1000);
      expect(wait).toBeGreaterThanOrEqual(i * 1000 - (performance.now() - first));
    }
  });

  it('answers 30 concurrent requests at 20 a second in no less than 1.45 s, every one of them', async () => {
    sim = await startSimProcess({ name: 'sim-slow', args: ['--rate-limit', '20'] });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 30 });
    try {
      const started = performance.now();
      const statuses = await Promise.all(Array.from({ length: 30 }, () => get(sim!.url, '/features', agent)));
      const took = performance.now() - started;
      expect(statuses).toEqual(Array.from({ length: 30 }, () => 200));
      // 30 requests, 20 a second: the last one starts 29 × 50 ms after the first.
      expect(took).toBeGreaterThanOrEqual(1450);
    } finally {
      agent.destroy();
    }
  });
});
