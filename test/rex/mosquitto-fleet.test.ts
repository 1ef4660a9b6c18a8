// The spool against the installer's Mosquitto (TLS, CN as username, foreman.acl) with the
// simulated hosts in their own process, each host on its own certificate (--mqtt-host-certs):
// a 50-host batch and the dynflow answers Foreman parses; kill -9 of the built daemon with 200
// jobs in every state; a broker restart in the middle of a run. Loopback only, every wait bounded.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { stateFilePath } from '../../src/state/open-store.js';
import { client, type Client } from '../support/http-client.js';
import { hostCn, issueHostCerts } from '../support/host-pki.js';
import { foremanAcl, freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startSimHostProcess, type HostEvent, type SimHostProcess } from '../sim-host/sim-host-process.js';
import {
  batchLaunch,
  createWorld,
  rexYaml,
  getJson,
  postJson,
  PROXY_CN,
  startFakeForeman,
  startRexDaemon,
  tempStateDir,
  waitFor,
  type CallbackEntry,
  type FakeForeman,
  type JobSpec,
  type RexDaemon,
  type World,
} from './rex-harness.js';

const CLI = resolve('dist/src/cli.js');
const HOSTS = 50;
const PULL_SCRIPT = 'Proxy::RemoteExecution::Ssh::Actions::PullScript';

/** A job plus what it must report: its exit code and its output lines by stream. */
interface Expected extends JobSpec {
  exit: number;
  stdout: string[];
  stderr: string[];
}

function job(host: string, sleep: number, exit: number, tag: string): Expected {
  const stdout = [`${tag} on ${host}`, `${tag} done`];
  const stderr = [`${tag} err`];
  return {
    taskId: randomUUID(),
    host,
    script: `#!/bin/sh\necho "${stdout[0]}"\necho "${stderr[0]}" >&2\nsleep ${sleep}\necho "${stdout[1]}"\nexit ${exit}\n`,
    exit,
    stdout,
    stderr,
  };
}

const ft = (j: JobSpec) => `ft-${j.taskId}`;

/** Each task's result at Foreman: the exit code exactly, the output lines as a set (a repeat is allowed). */
function checkResult(j: Expected, data: CallbackEntry['data'] | undefined): void {
  expect(data).toBeDefined();
  expect({ task: j.taskId, exit: data!.exit_status }).toEqual({ task: j.taskId, exit: j.exit });
  const lines = (type: string) => new Set(data!.result.filter((r) => r.output_type === type).flatMap((r) => r.output.split('\n').filter(Boolean)));
  expect(lines('stdout')).toEqual(new Set(j.stdout));
  expect(lines('stderr')).toEqual(new Set(j.stderr));
  for (const r of data!.result) expect(typeof r.timestamp).toBe('number');
  expect(typeof data!.exit_status_timestamp).toBe('number');
}

/** Accepted callback entries per Foreman task id. */
function acceptedCounts(foreman: FakeForeman): Map<string, number> {
  const n = new Map<string, number>();
  for (const p of foreman.posts) if (p.status === 200) for (const e of p.body.callbacks ?? []) n.set(e.callback.task_id, (n.get(e.callback.task_id) ?? 0) + 1);
  return n;
}

function countBy(events: HostEvent[], event: string): Map<string, number> {
  const n = new Map<string, number>();
  for (const e of events) if (e.event === event && e.job) n.set(e.job, (n.get(e.job) ?? 0) + 1);
  return n;
}

/** The built daemon as its own process; resolves once it logged that it started. */
function startDaemonProcess(config: string, log: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, 'run', '--config', config, '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`daemon did not start:\n${log.join('\n')}`));
    }, 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.push(line);
      if (line.includes('proxy-proxy started')) {
        clearTimeout(timer);
        ok(child);
      }
    });
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      fail(new Error(`daemon exited with ${code ?? signal}:\n${log.join('\n')}`));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => child.once('exit', () => r()));
}

describe('REX through Mosquitto with simulated hosts on their own certificates', () => {
  let world: World;
  let hostsDir: string;
  let names: string[];
  let broker: Mosquitto;
  let foreman: FakeForeman;
  let sim: SimHostProcess;
  let rex: RexDaemon;
  let stateDir: string | undefined;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  const simArgs = (first: number, count: number) => [
    '--broker', broker.tlsUrl!,
    '--hosts', String(count),
    '--first-index', String(first),
    '--mqtt-host-certs',
    '--cert-dir', hostsDir,
    '--ca', world.pki.caCert,
    '--concurrency', '256',
    '--reconnect-ms', '200',
  ];

  beforeAll(async () => {
    stateDir = tempStateDir();
    world = await createWorld();
    hostsDir = join(world.pki.dir, 'sim-hosts');
    // host1…host50 for the main simulator, host51…host55 for the late one of the kill test.
    names = await issueHostCerts(world.pki, { count: HOSTS + 5, dir: hostsDir });
    foreman = await startFakeForeman(world);
    broker = await startMosquitto({
      plain: false,
      tls: { caFile: world.pki.caCert, certFile: world.proxy.cert, keyFile: world.proxy.key, acl: foremanAcl(PROXY_CN) },
    });
    sim = await startSimHostProcess(simArgs(1, HOSTS), 30_000);
    rex = await startRexDaemon(world, foreman, { stateDir, top: { log_level: 'WARN' }, rex: { mqtt: { broker: broker.tlsUrl, ttl: 1, resend_interval: 2 } } });
    await waitFor(() => rex.daemon.rex!.mqttConnected, 'proxy-proxy connected to Mosquitto');
  }, 60_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
    await rex?.stop();
    if (sim) expect(await sim.stop()).toBe(0);
    await broker?.dispose();
    await foreman?.close();
    if (world) rmSync(world.pki.dir, { recursive: true, force: true });
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const jobUuid = async (j: JobSpec) => (await rex.daemon.rex!.store.task(j.taskId))!.jobUuid;
  const launch = async (jobs: JobSpec[]) => {
    const reply = await postJson(rex.foreman, '/dynflow/tasks/launch', batchLaunch(jobs, rex.url));
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({ parent: { result: 'success', task_id: expect.any(String) } });
    return reply.json.parent.task_id as string;
  };

  it('runs a batch on 50 hosts and answers the dynflow queries in the shapes Foreman parses', async () => {
    expect(sim.events.find((e) => e.event === 'ready')).toMatchObject({ hosts: HOSTS, connections: HOSTS });
    // Each host is its own MQTT client (client id = CN) under the ACL.
    for (const name of names.slice(0, HOSTS)) expect(broker.log()).toContain(`as ${name}`);
    const mark = sim.events.length;
    const postsBefore = foreman.posts.length;
    const jobs = names.slice(0, HOSTS).map((host, i) => job(host, 3, i % 5, `batch ${i}`));
    const parent = await launch(jobs);
    const uuids = new Map(await Promise.all(jobs.map(async (j) => [await jobUuid(j), j] as const)));
    await sim.waitForCount('every job started', (e) => e.event === 'started' && uuids.has(e.job!), HOSTS, 20_000);

    // While the scripts sleep: all 50 count as running, read running/pending, live output has no exit.
    const unknown = randomUUID();
    expect((await getJson(rex.foreman, '/dynflow/tasks/count?state=running')).json).toEqual({ count: HOSTS, state: 'running' });
    const running = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: [...jobs.map((j) => j.taskId), parent, unknown] });
    expect(running.status).toBe(200);
    expect(Object.keys(running.json).sort()).toEqual([...jobs.map((j) => j.taskId), parent].sort());
    for (const j of jobs) expect(running.json[j.taskId]).toEqual({ state: 'running', result: 'pending' });
    expect(running.json[parent]).toEqual({ state: 'running', result: 'pending' });
    const live = await getJson(rex.foreman, `/dynflow/tasks/${jobs[0]!.taskId}/status`);
    expect(live.status).toBe(200);
    expect(live.json).toMatchObject({ id: jobs[0]!.taskId, state: 'running', result: 'pending' });
    const liveAction = (live.json.actions as any[]).find((a) => a.input?.task_id === ft(jobs[0]!));
    expect(liveAction).toMatchObject({ class: PULL_SCRIPT, output: { state: expect.stringMatching(/^(delivered|running)$/), result: expect.any(Array) } });
    expect(liveAction.output).not.toHaveProperty('exit_status');

    await waitFor(() => jobs.every((j) => foreman.results.has(ft(j))), 'every result at Foreman', 20_000);
    for (const j of jobs) checkResult(j, foreman.results.get(ft(j)));
    const accepted = acceptedCounts(foreman);
    for (const j of jobs) expect({ task: ft(j), callbacks: accepted.get(ft(j)) }).toEqual({ task: ft(j), callbacks: 1 });
    for (const p of foreman.posts.slice(postsBefore)) {
      expect(p.cn).toBe(PROXY_CN);
      expect(p.accept).toContain('version=2');
    }

    // Each job was fetched once, by its own host (the fetch identity is the host's certificate), and run once.
    const events = sim.events.slice(mark);
    const fetched = events.filter((e) => e.event === 'fetched' && uuids.has(e.job!));
    expect(fetched).toHaveLength(HOSTS);
    for (const e of fetched) expect({ host: e.host, status: e.status }).toEqual({ host: uuids.get(e.job!)!.host, status: 200 });
    const started = countBy(events, 'started');
    for (const [uuid] of uuids) expect({ uuid, started: started.get(uuid) }).toEqual({ uuid, started: 1 });

    // Finished: none running; status stopped/success; the full plan hashes carry Foreman's task id and the output.
    expect((await getJson(rex.foreman, '/dynflow/tasks/count?state=running')).json).toEqual({ count: 0, state: 'running' });
    const done = await postJson(rex.foreman, '/dynflow/tasks/status', { task_ids: jobs.map((j) => j.taskId) });
    for (const j of jobs) expect(done.json[j.taskId]).toEqual({ state: 'stopped', result: 'success' });
    const full = await postJson(rex.foreman, '/dynflow/tasks/statuses', { task_ids: [...jobs.map((j) => j.taskId), unknown] });
    expect(full.status).toBe(200);
    expect(Object.keys(full.json).sort()).toEqual(jobs.map((j) => j.taskId).sort());
    for (const j of jobs) {
      const plan = full.json[j.taskId];
      expect(plan).toMatchObject({ id: j.taskId, state: 'stopped', result: 'success', actions: expect.any(Array) });
      expect(typeof plan.started_at).toBe('string');
      expect(typeof plan.ended_at).toBe('string');
      const action = (plan.actions as any[]).find((a) => a.input?.task_id === ft(j));
      expect(action).toMatchObject({ class: PULL_SCRIPT, output: { exit_status: j.exit } });
      expect(action.output.result).toEqual(foreman.results.get(ft(j))!.result);
    }
    const single = await getJson(rex.foreman, `/dynflow/tasks/${jobs[1]!.taskId}/status`);
    expect(single.status).toBe(200);
    expect(single.json).toEqual(full.json[jobs[1]!.taskId]);
    expect((await postJson(rex.foreman, '/dynflow/tasks/statuses', { task_ids: [] })).status).toBe(422);
    const missing = await getJson(rex.foreman, `/dynflow/tasks/${unknown}/status`);
    expect({ status: missing.status, body: missing.json }).toEqual({ status: 404, body: {} });
  }, 45_000);

  it('survives kill -9 of the built daemon with 200 jobs in every state: each runs once, each result reaches Foreman once', async () => {
    const foreman2 = await startFakeForeman(world);
    cleanups.push(() => foreman2.close());
    const dir = mkdtempSync(join(tmpdir(), 'pp-rex-fleet-kill-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const httpsPort = await freePort();
    const base = `https://127.0.0.1:${httpsPort}`;
    const config = join(dir, 'proxy-proxy.yaml');
    // rate_limit = the long jobs + the late hosts' jobs: while those run or hold their slot
    // (ttl 10 s, longer than the kill and the restart take), the last 70 jobs are not rung.
    // callback.timeout_ms is short because a callback POST cut off by the kill leaves its jobs
    // leased in the store for timeout_ms + 5 s, and the restarted daemon waits that lease out
    // before sending them again (35 s with the default).
    writeFileSync(
      config,
      rexYaml(world, {
        foremanUrl: foreman2.url,
        stateDir: join(dir, 'state'),
        top: { https_port: httpsPort },
        rex: {
          mqtt: { broker: broker.tlsUrl, ttl: 10, resend_interval: 2, rate_limit: 70 },
          callback: { batch_interval_ms: 50, timeout_ms: 2000, retry: { base_ms: 100, max_ms: 500 } },
        },
      }),
    );
    const log: string[] = [];
    let daemon: ChildProcess | undefined = await startDaemonProcess(config, log);
    let late: SimHostProcess | undefined;
    let foremanClient: Client | undefined = client(base, world.foreman);
    cleanups.push(async () => {
      await foremanClient?.close();
      if (daemon && daemon.exitCode === null && daemon.signalCode === null) {
        daemon.kill('SIGKILL');
        await exited(daemon);
      }
      if (late) await late.stop();
    });

    // In launch order, which is the order doorbells go out in:
    // L  10 jobs for host51…55, whose simulator starts only after the restart: rung, never fetched;
    // A  60 short jobs: finished before the kill, their callbacks refused by Foreman until then;
    // B  60 jobs sleeping 6–8 s: fetched and running across the kill and the restart;
    // C  70 jobs, 0.2–1.5 s: not rung at all before the kill (the rate limit is taken).
    const spread = (n: number, f: (k: number) => Expected) => Array.from({ length: n }, (_, k) => f(k));
    const onHost = (k: number) => names[k % HOSTS]!;
    const L = spread(10, (k) => job(hostCn(HOSTS + 1 + (k % 5)), 0.2, k % 3, `late ${k}`));
    const A = spread(60, (k) => job(onHost(k), 0.1 + (k % 4) * 0.1, (k % 4) + 1, `short ${k}`));
    const B = spread(60, (k) => job(onHost(k + 7), 6 + (k % 5) * 0.5, k % 2, `long ${k}`));
    const C = spread(70, (k) => job(onHost(k + 13), 0.2 + (k % 7) * 0.2, k % 6, `queued ${k}`));
    const all = [...L, ...A, ...B, ...C];
    expect(all).toHaveLength(200);

    foreman2.fail(1_000_000_000, 500);
    const mark = sim.events.length;
    const reply = await postJson(foremanClient, '/dynflow/tasks/launch', batchLaunch(all, base));
    expect(reply.status).toBe(200);
    // The job uuids the doorbells carry, from the spool itself (read-only, beside the running daemon).
    const db = new Database(stateFilePath(join(dir, 'state')), { readonly: true, fileMustExist: true });
    const uuidOf = new Map(db.prepare('SELECT task_id, job_uuid FROM rex_jobs').all().map((r: any) => [r.task_id as string, r.job_uuid as string]));
    db.close();
    expect(uuidOf.size).toBe(200);
    const uuids = (js: Expected[]) => new Set(js.map((j) => uuidOf.get(j.taskId)!));
    const [uA, uB] = [uuids(A), uuids(B)];
    const simEvents = () => [...sim.events.slice(mark), ...(late?.events ?? [])];

    await sim.waitForCount('the short jobs posted their exits', (e) => e.event === 'posted' && e.exit === true && e.status === 200 && uA.has(e.job!), 60, 20_000);
    await sim.waitForCount('the long jobs started', (e) => e.event === 'started' && uB.has(e.job!), 60, 20_000);
    // Every job is where the test wants it at the kill.
    const before = await postJson(foremanClient, '/dynflow/tasks/statuses', { task_ids: all.map((j) => j.taskId) });
    const stateOf = (j: Expected) => {
      const plan = before.json[j.taskId];
      const output = (plan.actions as any[]).find((a) => a.class === PULL_SCRIPT).output;
      return plan.state === 'stopped' ? `stopped/exit ${output.exit_status}` : `${plan.state}/${output.state}`;
    };
    expect(new Set(L.map(stateOf))).toEqual(new Set(['running/notified']));
    expect(new Set(A.map(stateOf))).toEqual(new Set(['stopped/exit 1', 'stopped/exit 2', 'stopped/exit 3', 'stopped/exit 4']));
    expect(new Set(B.map(stateOf))).toEqual(new Set(['running/delivered']));
    expect(new Set(C.map(stateOf))).toEqual(new Set(['running/ready_for_pickup']));
    expect(foreman2.results.size).toBe(0);
    await foremanClient.close();
    foremanClient = undefined;

    daemon.kill('SIGKILL');
    await exited(daemon);
    foreman2.fail(0);
    daemon = await startDaemonProcess(config, log);
    late = await startSimHostProcess(simArgs(HOSTS + 1, 5), 20_000);

    await waitFor(() => all.every((j) => foreman2.results.has(ft(j))), 'every result at Foreman after the restart', 25_000);
    for (const j of all) checkResult(j, foreman2.results.get(ft(j)));
    // Exactly once per task at Foreman, and nothing else.
    const accepted = acceptedCounts(foreman2);
    expect(accepted.size).toBe(200);
    for (const j of all) expect({ task: ft(j), callbacks: accepted.get(ft(j)) }).toEqual({ task: ft(j), callbacks: 1 });

    const events = simEvents();
    // No host update was lost to the outage (the sim never retries): had one been, its job could
    // not finish. The long jobs (6 s or more) outlast the restart; one that ended into it shows here.
    expect(events.filter((e) => e.event === 'posted' && e.status !== 200)).toEqual([]);
    // Each job ran once: one "started" per job uuid, none for anything else.
    const started = countBy(events, 'started');
    expect(started.size).toBe(200);
    for (const j of all) expect({ task: j.taskId, started: started.get(uuidOf.get(j.taskId)!) }).toEqual({ task: j.taskId, started: 1 });
    // The late hosts got their jobs from a doorbell rung after the restart.
    for (const j of L) expect(late.events.some((e) => e.event === 'started' && e.job === uuidOf.get(j.taskId))).toBe(true);

    const stopped = exited(daemon);
    daemon.kill('SIGTERM');
    await stopped;
    daemon = undefined;
  }, 60_000);

  it('rings doorbells across a broker restart: jobs launched before, during and after it all complete', async () => {
    const port = broker.tlsPort;
    const pid = broker.pid();
    const mark = sim.events.length;
    const hosts = names.slice(0, HOSTS);
    const across = hosts.map((h, i) => job(h, 2.5, i % 3, `across ${i}`));
    const during = hosts.map((h, i) => job(h, 0.1, (i % 4) + 2, `during ${i}`));
    const after = hosts.map((h, i) => job(h, 0.1, i % 2, `after ${i}`));
    await launch(across);
    const uAcross = new Set(await Promise.all(across.map(jobUuid)));
    await sim.waitForCount('the first jobs started', (e) => e.event === 'started' && uAcross.has(e.job!), HOSTS, 20_000);

    const restarted = broker.restart();
    await waitFor(() => !rex.daemon.rex!.mqttConnected, 'proxy-proxy to notice the broker went away', 10_000);
    await launch(during);
    await restarted;
    expect(broker.tlsPort).toBe(port);
    expect(broker.pid()).not.toBe(pid);
    // At once: the hosts may not have subscribed again yet; such doorbells are rung again.
    await launch(after);

    const jobs = [...across, ...during, ...after];
    await waitFor(() => jobs.every((j) => foreman.results.has(ft(j))), 'every result after the broker restart', 30_000);
    for (const j of jobs) checkResult(j, foreman.results.get(ft(j)));
    const accepted = acceptedCounts(foreman);
    for (const j of jobs) expect({ task: ft(j), callbacks: accepted.get(ft(j)) }).toEqual({ task: ft(j), callbacks: 1 });
    const events = sim.events.slice(mark);
    // Every host lost its link and subscribed again, on the same port.
    expect(events.filter((e) => e.event === 'disconnected')).toHaveLength(HOSTS);
    expect(new Set(events.filter((e) => e.event === 'subscribed').map((e) => e.host))).toEqual(new Set(hosts));
    const started = countBy(events, 'started');
    expect(started.size).toBe(jobs.length);
    for (const j of jobs) expect({ task: j.taskId, started: started.get(await jobUuid(j)) }).toEqual({ task: j.taskId, started: 1 });
    expect(events.filter((e) => e.event === 'posted' && e.status !== 200)).toEqual([]);
    expect(rex.daemon.rex!.mqttConnected).toBe(true);
  }, 45_000);
});
