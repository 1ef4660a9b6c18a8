// CI smoke test of the benchmark harness: it starts what it needs, produces numbers and cleans
// up. Never a timing threshold: CI machines are shared and the numbers are rough at this size.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { BENCH_MAIN } from '../../bench/paths.js';
import { parseWrk } from '../../bench/wrk.js';

const dir = mkdtempSync(join(tmpdir(), 'pp-bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function benchDirs(): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith('pp-bench-') && !d.startsWith('pp-bench-smoke-'));
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BENCH_MAIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}

interface Report {
  failures: string[];
  sections: { name: string; verdicts: { target: string; measured: string }[]; data: Record<string, { p50Ms: number } | number> }[];
}

describe('bench harness', () => {
  it('runs the footprint and fan-out sections at tiny sizes and reports numbers', async () => {
    const before = new Set(benchDirs());
    const out = join(dir, 'results.json');
    const r = await run(['--quick', '--only', 'footprint,fanout', '--no-install', '--json', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.failures).toEqual([]);
    const byName = Object.fromEntries(report.sections.map((s) => [s.name, s]));

    const fp = byName.footprint!.data as Record<string, number> & { parts: { step: string; rssMiB: number }[]; optional: { addedMiB: number }[] };
    expect(fp.idleRssMiB).toBeGreaterThan(0);
    expect(fp.startMs).toBeGreaterThan(0);
    // RSS part by part, from Node alone to the started daemon, and the optional parts.
    expect(fp.parts[0]!.step).toBe('Node alone');
    expect(fp.parts.at(-1)!.rssMiB).toBeGreaterThan(fp.parts[0]!.rssMiB);
    expect(fp.optional.length).toBeGreaterThan(0);
    const fan = byName.fanout!.data as Record<string, { p50Ms: number }>;
    for (const n of ['1', '2', '3', '5']) expect(fan[n]!.p50Ms).toBeGreaterThan(0);
    for (const s of report.sections) for (const v of s.verdicts) expect(v.measured).toMatch(/\d/);

    // Its temp dirs are gone again.
    expect(benchDirs().filter((d) => !before.has(d))).toEqual([]);
  }, 120_000);

  it('runs the rex-scale section with 5 hosts and reports numbers', async () => {
    const before = new Set(benchDirs());
    const out = join(dir, 'rex.json');
    const r = await run(['--quick', '--only', 'rex-scale', '--rex-hosts', '5', '--no-install', '--json', out]);
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.failures).toEqual([]);
    const rex = report.sections.find((s) => s.name === 'rex-scale')!;
    // A run with a fork per job and one with the scripts in the simulators' process.
    for (const [key, emulated] of [['5', false], ['5-in-process', true]] as const) {
      const five = rex.data[key] as unknown as Record<string, number | boolean>;
      expect(five).toMatchObject({ hosts: 5, emulated, complete: true, lost: 0, unfinished: 0, wrong: 0 });
      for (const k of ['totalS', 'peakRssMiB', 'daemonCpuMsPerJob', 'callbackPosts']) expect(five[k]).toBeGreaterThan(0);
    }
    expect(rex.verdicts.map((v) => v.target)).toEqual([
      'REX, 5 hosts (scripts in process): launch → last result at Foreman',
      'REX, 5 hosts (scripts in process): jobs lost or with a wrong result',
      'REX, 5 hosts: proxy-proxy CPU per job',
      'REX, 5 hosts: written to storage per job',
      'REX, 5 hosts: proxy-proxy peak RSS',
      'REX, 5 hosts on PostgreSQL: jobs lost or with a wrong result',
      'REX, 5 hosts (scripts in process): time on PostgreSQL vs SQLite',
    ]);
    for (const v of rex.verdicts) expect(v.measured).toMatch(/\d/);
    expect(benchDirs().filter((d) => !before.has(d))).toEqual([]);
  }, 60_000);

  it('reads wrk output and refuses runs with errors', () => {
    const ok = `Running 1s test @ http://127.0.0.1:1/dhcp
  1 threads and 1 connections
  Latency Distribution
     50%   85.00us
     75%  100.00us
     90%  120.00us
     99%    1.20ms
  9000 requests in 1.00s, 1.00MB read
Requests/sec:   9000.00
Transfer/sec:      1.00MB
`;
    expect(parseWrk(ok)).toEqual({ rps: 9000, requests: 9000, p50Ms: 0.085, p99Ms: 1.2 });
    expect(() => parseWrk(ok.replace('Requests/sec', '  Non-2xx or 3xx responses: 3\nRequests/sec'))).toThrow(/not 2xx/);
  });
});
