// Socket activation turns a kill -9 into a pause: the built daemon runs on listening sockets
// that systemd-socket-activate holds (HTTPS named "https", HTTP matched by its port), is killed
// with SIGKILL while yggd-like hosts run their jobs, and the hosts post their exits while
// nothing accepts. Those POSTs wait in the kernel's queue; the daemon, started again on the same
// sockets, answers them. Hosts never retry: every result reaches Foreman exactly once only if
// no POST was refused.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { client } from '../support/http-client.js';
import { freePort } from '../support/mosquitto.js';
import { startSocketActivated, type SocketActivated } from '../support/socket-activated.js';
import { batchLaunch, createWorld, rexYaml, postJson, startFakeForeman, TestHost, waitFor, type FakeForeman, type JobSpec, type World } from './rex-harness.js';

describe('proxy-proxy under socket activation, killed mid-run', () => {
  let world: World;
  let foreman: FakeForeman;
  let dir: string;
  const hosts: TestHost[] = [];
  let activated: SocketActivated | undefined;

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    dir = mkdtempSync(join(tmpdir(), 'pp-rex-activated-'));
  });

  afterAll(async () => {
    await activated?.stop();
    for (const h of hosts) await h.close();
    await foreman?.close();
    if (world) rmSync(world.pki.dir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('answers the exits hosts posted while it was dead: every result reaches Foreman exactly once', async () => {
    const httpsPort = await freePort();
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const config = join(dir, 'proxy-proxy.yaml');
    writeFileSync(
      config,
      rexYaml(world, {
        foremanUrl: foreman.url,
        stateDir: join(dir, 'state'),
        top: { http_port: httpPort, https_port: httpsPort },
        rex: {
          mqtt: { embedded_bind: '127.0.0.1', embedded_port: mqttPort, ttl: 1, resend_interval: 3 },
          callback: { batch_interval_ms: 50, timeout_ms: 2000, retry: { base_ms: 100, max_ms: 500 } },
        },
      }),
    );
    activated = await startSocketActivated(dir, config, [
      { port: httpsPort, name: 'https' },
      // systemd names a socket after its unit unless told otherwise: matched by port.
      { port: httpPort, name: 'proxy-proxy.socket' },
    ]);
    const listening = () => activated!.lines.filter((l) => l.includes('listening on') && l.includes('(socket from systemd)'));
    expect(listening().map((l) => /listening on (\S+)/.exec(l)![1])).toEqual([`http://127.0.0.1:${httpPort}`, `https://127.0.0.1:${httpsPort}`]);

    const base = `https://127.0.0.1:${httpsPort}`;
    const names = Array.from({ length: 8 }, (_, i) => `sa${i}.example.test`);
    for (const name of names) {
      // A restart may take a while on a busy machine: the queued connection waits for it.
      const h = new TestHost(name, await world.host(name), 30_000);
      hosts.push(h);
      await h.connect(`mqtts://127.0.0.1:${mqttPort}`);
    }
    const jobs: JobSpec[] = names.flatMap((host) =>
      [0, 1, 2].map((k) => ({ taskId: randomUUID(), host, script: `echo start ${k}\ngate\nsleep ${k * 100}\necho end ${k}\nexit ${k + 1}` })),
    );
    const foremanClient = client(base, world.foreman);
    try {
      // Results are refused until the kill, so some are owed across it as well.
      foreman.fail(1_000_000, 500);
      expect((await postJson(foremanClient, '/dynflow/tasks/launch', batchLaunch(jobs, base))).status).toBe(200);
      await waitFor(() => hosts.every((h) => h.updates.filter((u) => u.status === 200).length === 3), 'the first output of every job');
    } finally {
      await foremanClient.close();
    }

    const killed = activated.daemonPid();
    await activated.killDaemon();
    foreman.fail(0);
    // Every host now posts its exits while no process accepts; so does a plain HTTP client.
    for (const h of hosts) h.openGate();
    const version = request(`http://127.0.0.1:${httpPort}/version`);
    await waitFor(() => hosts.every((h) => h.posting + h.updates.filter((u) => u.exit).length === 3), 'every exit posted into the outage');
    // None answered, none refused: they wait in the kernel's queue.
    for (const h of hosts) expect(h.updates.filter((u) => u.exit)).toEqual([]);

    const restarted = activated.nextStart();
    activated.allowRestart();
    await restarted;
    expect(activated.daemonPid()).not.toBe(killed);
    expect(listening()).toHaveLength(4);
    const answer = await version;
    expect({ status: answer.statusCode, body: await answer.body.text() }).toEqual({ status: 200, body: expect.stringContaining('"version"') });

    await waitFor(() => jobs.every((j) => foreman.results.has(`ft-${j.taskId}`)), 'every result at Foreman', 30_000);
    for (const h of hosts) expect(h.updates.filter((u) => u.status !== 200)).toEqual([]);
    for (const j of jobs) {
      const k = Number(/echo start (\d)/.exec(j.script)![1]);
      const data = foreman.results.get(`ft-${j.taskId}`)!;
      expect({ task: j.taskId, exit: data.exit_status }).toEqual({ task: j.taskId, exit: k + 1 });
      expect(data.result.map((r) => r.output)).toEqual([`start ${k}\n`, `end ${k}\n`]);
    }
    const accepted = new Map<string, number>();
    for (const p of foreman.posts) if (p.status === 200) for (const e of p.body.callbacks ?? []) accepted.set(e.callback.task_id, (accepted.get(e.callback.task_id) ?? 0) + 1);
    expect(accepted.size).toBe(jobs.length);
    for (const j of jobs) expect({ task: j.taskId, n: accepted.get(`ft-${j.taskId}`) }).toEqual({ task: j.taskId, n: 1 });
    for (const h of hosts) expect(h.fetches.filter((f) => f.status === 200)).toHaveLength(3);

    await activated.stop();
    expect(activated.launcher.exitCode).toBe(0);
    activated = undefined;
  }, 90_000);
});
