// Many hosts against one in-process proxy-proxy: launch as Foreman does (batches of 100), every
// host fetches, runs and reports, and the time until the last result reached Foreman is taken.
// Used by throughput.test.ts (a small fleet) and measure-fleet.ts (any size, run by hand).
import { randomUUID } from 'node:crypto';
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

export async function runFleet(foreman: FakeForeman, rex: RexDaemon, hostNames: string[], timeoutMs: number): Promise<FleetResult> {
  const jobs: JobSpec[] = hostNames.map((cn) => ({ taskId: randomUUID(), host: cn, script: `echo hello from ${cn}\nexit 0` }));
  const postsBefore = foreman.posts.length;
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 100);
  const t0 = performance.now();
  try {
    const batches: JobSpec[][] = [];
    for (let i = 0; i < jobs.length; i += 100) batches.push(jobs.slice(i, i + 100));
    // Foreman's batch trigger: 100 hosts per request, a few requests at once.
    await inParallel(batches, 4, async (batch) => {
      const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(batch, rex.url));
      if (reply.status !== 200) throw new Error(`launch answered ${reply.status}: ${reply.body}`);
    });
    const launchMs = performance.now() - t0;
    await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), `${jobs.length} results at Foreman`, timeoutMs);
    const totalMs = performance.now() - t0;
    for (const j of jobs) {
      const data = foreman.results.get(`ft-${j.taskId}`)!;
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
