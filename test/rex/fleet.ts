// Many hosts against one proxy-proxy: launch as Foreman does (batches of 100), every host
// fetches, runs and reports, and the time until the last result reached Foreman is taken.
// Used by throughput.test.ts (a small fleet), measure-fleet.ts (any size, run by hand) and the
// benchmark's rex-scale section (bench/sections/rex-scale.ts: the daemon as its own process).
import { randomUUID } from 'node:crypto';
import type { Client } from '../support/http-client.js';
import { batchLaunch, postJson, TestHost, waitFor, type FakeForeman, type JobSpec, type RexDaemon, type World } from './rex-harness.js';

export interface FleetResult {
  hosts: number;
  launchMs: number;
  /** From the first launch request to the last result accepted by Foreman. */
  totalMs: number;
  jobsPerSecond: number;
  callbackPosts: number;
  peakRssMb: number;
}

export async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export async function connectFleet(world: World, rex: RexDaemon, names: string[]): Promise<TestHost[]> {
  const hosts: TestHost[] = [];
  await inParallel(names, 8, async (name) => {
    hosts.push(new TestHost(name, await world.host(name)));
  });
  await inParallel(hosts, 50, (h) => h.connect(rex.mqttUrl));
  return hosts;
}

export function fleetNames(n: number, prefix = 'fleet'): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}${i}.example.test`);
}

/** One job per host; by default each echoes its own name, so a result cannot pass for another's. */
export function fleetJobs(hostNames: string[], script: (cn: string) => string = (cn) => `echo hello from ${cn}\nexit 0`): JobSpec[] {
  return hostNames.map((cn) => ({ taskId: randomUUID(), host: cn, script: script(cn) }));
}

/** Foreman's batch trigger: 100 hosts per request, a few requests at once. */
export async function launchFleet(target: { foreman: Client; url: string }, jobs: JobSpec[], width = 4): Promise<void> {
  const batches: JobSpec[][] = [];
  for (let i = 0; i < jobs.length; i += 100) batches.push(jobs.slice(i, i + 100));
  await inParallel(batches, width, async (batch) => {
    const reply = await postJson(target.foreman, '/dynflow/tasks/launch', batchLaunch(batch, target.url));
    if (reply.status !== 200) throw new Error(`launch answered ${reply.status}: ${reply.body}`);
  });
}

export const resultKey = (j: JobSpec): string => j.foremanTaskId ?? `ft-${j.taskId}`;

export interface Collected {
  /** Jobs whose result Foreman accepted. */
  received: number;
  /** Of those, results other than exit 0 with the expected output. */
  wrong: string[];
  /** performance.now() when the last result was first seen (undefined: none arrived). */
  lastAt: number | undefined;
  complete: boolean;
}

/**
 * Waits until Foreman has a result for every job, `deadline` (performance.now() time) passes or
 * `abort()` says so, then checks each result against `expected(job)` (its script's output).
 */
export async function collectResults(
  foreman: FakeForeman,
  jobs: JobSpec[],
  expected: (j: JobSpec) => string,
  deadline: number,
  abort: () => boolean = () => false,
  everyMs = 25,
): Promise<Collected> {
  const pending = new Set(jobs.map(resultKey));
  let lastAt: number | undefined;
  for (;;) {
    let seen = false;
    for (const k of pending) {
      if (!foreman.results.has(k)) continue;
      pending.delete(k);
      seen = true;
    }
    if (seen) lastAt = performance.now();
    if (pending.size === 0 || performance.now() > deadline || abort()) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const wrong: string[] = [];
  for (const j of jobs) {
    const data = foreman.results.get(resultKey(j));
    if (data && (data.exit_status !== 0 || data.result.map((r) => r.output).join('') !== expected(j))) wrong.push(`${j.host}: ${JSON.stringify(data)}`);
  }
  return { received: jobs.length - pending.size, wrong, lastAt, complete: pending.size === 0 };
}

export async function runFleet(foreman: FakeForeman, rex: RexDaemon, hostNames: string[], timeoutMs: number): Promise<FleetResult> {
  const jobs = fleetJobs(hostNames);
  const postsBefore = foreman.posts.length;
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  try {
    await launchFleet(rex, jobs);
    const launchMs = performance.now() - t0;
    await waitFor(() => jobs.every((j) => foreman.results.has(resultKey(j))), `${jobs.length} results at Foreman`, timeoutMs);
    const totalMs = performance.now() - t0;
    for (const j of jobs) {
      const data = foreman.results.get(resultKey(j))!;
      if (data.exit_status !== 0 || data.result[0]?.output !== `hello from ${j.host}\n`) throw new Error(`wrong result for ${j.host}: ${JSON.stringify(data)}`);
    }
    return {
      hosts: jobs.length,
      launchMs: Math.round(launchMs),
      totalMs: Math.round(totalMs),
      jobsPerSecond: Math.round((jobs.length / totalMs) * 1000),
      callbackPosts: foreman.posts.length - postsBefore,
      peakRssMb: Math.round(peak / 1e6),
    };
  } finally {
    clearInterval(sampler);
  }
}
