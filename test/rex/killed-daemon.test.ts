// The built daemon as its own process, killed with SIGKILL in the middle of a run and started
// again on the same state directory: every job still runs exactly once and every result reaches
// Foreman exactly once. Hosts never retry a POST, so here they hold their exit until the daemon
// is back (lost-reports.test.ts: what happens to one sent into the outage; socket-activation.test.ts:
// the same kill with the listening socket held, and the POSTs sent into the outage).
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { client } from '../support/http-client.js';
import { batchLaunch, createWorld, rexYaml, postJson, startFakeForeman, TestHost, waitFor, type FakeForeman, type JobSpec, type World } from './rex-harness.js';

const CLI = resolve('dist/src/cli.js');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function startDaemon(config: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`daemon did not start:\n${lines.join('\n')}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('proxy-proxy started')) {
        clearTimeout(timer);
        ok(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => lines.push(d.toString()));
    child.once('exit', (code) => fail(new Error(`daemon exited with ${code}:\n${lines.join('\n')}`)));
  });
}

describe('proxy-proxy killed mid-run', () => {
  let world: World;
  let foreman: FakeForeman;
  const hosts: TestHost[] = [];
  let daemon: ChildProcess | undefined;

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
  });

  afterAll(async () => {
    daemon?.kill('SIGKILL');
    for (const h of hosts) await h.close();
    await foreman?.close();
  });

  it('loses no job and no result', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pp-rex-kill-'));
    const httpsPort = await freePort();
    const mqttPort = await freePort();
    const config = join(dir, 'proxy-proxy.yaml');
    writeFileSync(
      config,
      rexYaml(world, {
        foremanUrl: foreman.url,
        stateDir: join(dir, 'state'),
        top: { https_port: httpsPort },
        rex: {
          mqtt: { embedded_bind: '127.0.0.1', embedded_port: mqttPort, ttl: 1, resend_interval: 3 },
          callback: { batch_interval_ms: 50, retry: { base_ms: 100, max_ms: 500 } },
        },
      }),
    );
    daemon = await startDaemon(config);
    const base = `https://127.0.0.1:${httpsPort}`;
    const names = Array.from({ length: 8 }, (_, i) => `k${i}.example.test`);
    for (const name of names) {
      const h = new TestHost(name, await world.host(name));
      hosts.push(h);
      await h.connect(`mqtts://127.0.0.1:${mqttPort}`);
    }
    const jobs: JobSpec[] = names.flatMap((host) =>
      [0, 1, 2].map((k) => ({ taskId: randomUUID(), host, script: `echo start ${k}\ngate\nsleep ${k * 100}\necho end ${k}\nexit ${k + 1}` })),
    );
    const foremanClient = client(base, world.foreman);
    try {
      // Results are refused until the kill, so they are owed when it comes.
      foreman.fail(1_000_000, 500);
      expect((await postJson(foremanClient, '/dynflow/tasks/launch', batchLaunch(jobs, base))).status).toBe(200);
      await waitFor(() => hosts.every((h) => h.fetches.filter((f) => f.status === 200).length === 3), 'every job fetched');
      await waitFor(() => hosts.every((h) => h.updates.filter((u) => u.status === 200).length === 3), 'the first output of every job');
    } finally {
      await foremanClient.close();
    }
    daemon.kill('SIGKILL');
    await new Promise((r) => daemon!.once('exit', r));

    foreman.fail(0);
    daemon = await startDaemon(config);
    for (const h of hosts) h.openGate();
    await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'every result at Foreman', 30_000);
    for (const j of jobs) {
      const k = Number(/echo start (\d)/.exec(j.script)![1]);
      const data = foreman.results.get(`ft-${j.taskId}`)!;
      expect(data.exit_status).toBe(k + 1);
      expect(new Set(data.result.map((r) => r.output))).toEqual(new Set([`start ${k}\n`, `end ${k}\n`]));
    }
    for (const h of hosts) expect(h.fetches.filter((f) => f.status === 200)).toHaveLength(3);
    for (const h of hosts) expect(h.updates.filter((u) => u.status !== 200)).toEqual([]);
    const accepted = new Map<string, number>();
    for (const p of foreman.posts) if (p.status === 200) for (const e of p.body.callbacks ?? []) accepted.set(e.callback.task_id, (accepted.get(e.callback.task_id) ?? 0) + 1);
    for (const j of jobs) expect({ task: j.taskId, n: accepted.get(`ft-${j.taskId}`) }).toEqual({ task: j.taskId, n: 1 });
    const exited = new Promise((r) => daemon!.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
    daemon = undefined;
  }, 60_000);
});
