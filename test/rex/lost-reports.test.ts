// Hosts never retry a POST (yggd, foreman_ygg_worker), so a host that reports its exit while
// proxy-proxy is down (kill -9, no socket activation) loses it for good. Here with the simulated
// hosts, through Mosquitto, the built daemon as its own process: the lost reports hold no
// rate-limit slot after the restart (new jobs run at once), `proxy-proxy status` lists the jobs,
// and once rex.lost_report_timeout has passed they end at Foreman, once each, saying why.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { client } from '../support/http-client.js';
import { issueHostCerts } from '../support/host-pki.js';
import { foremanAcl, freePort, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { startSimHostProcess, type SimHostProcess } from '../sim-host/sim-host-process.js';
import { CLI, startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { batchLaunch, createWorld, rexYaml, postJson, PROXY_CN, startFakeForeman, waitFor, type FakeForeman, type JobSpec, type World } from './rex-harness.js';

const run = promisify(execFile);
const RATE_LIMIT = 10;
const LATE_JOBS = 20;

describe('reports lost while proxy-proxy was down', () => {
  let world: World;
  let broker: Mosquitto;
  let foreman: FakeForeman;
  let sim: SimHostProcess;
  let dir: string;
  let daemon: DaemonProcess | undefined;

  beforeAll(async () => {
    world = await createWorld();
    dir = mkdtempSync(join(tmpdir(), 'pp-rex-lost-'));
    const hostsDir = join(dir, 'hosts');
    await issueHostCerts(world.pki, { count: RATE_LIMIT + LATE_JOBS, dir: hostsDir });
    foreman = await startFakeForeman(world);
    broker = await startMosquitto({
      plain: false,
      tls: { caFile: world.pki.caCert, certFile: world.proxy.cert, keyFile: world.proxy.key, acl: foremanAcl(PROXY_CN) },
    });
    // yggd-like: one connection per host on its own certificate, one POST per batch, no retry.
    sim = await startSimHostProcess(
      ['--broker', broker.tlsUrl!, '--hosts', String(RATE_LIMIT + LATE_JOBS), '--mqtt-host-certs', '--cert-dir', hostsDir, '--ca', world.pki.caCert, '--reconnect-ms', '200'],
      30_000,
    );
  }, 60_000);

  afterAll(async () => {
    await daemon?.kill();
    if (sim) await sim.stop();
    await broker?.dispose();
    await foreman?.close();
    if (world) rmSync(world.pki.dir, { recursive: true, force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('frees their rate-limit slots at the restart and ends them, with the restart time, after lost_report_timeout', async () => {
    const httpsPort = await freePort();
    const base = `https://127.0.0.1:${httpsPort}`;
    const config = join(dir, 'proxy-proxy.yaml');
    const gate = join(dir, 'gate');
    const yaml = (lostReportTimeout: number) =>
      rexYaml(world, {
        foremanUrl: foreman.url,
        stateDir: join(dir, 'state'),
        top: { https_port: httpsPort },
        rex: {
          lost_report_timeout: lostReportTimeout,
          mqtt: { broker: broker.tlsUrl, ttl: 1, resend_interval: 2, rate_limit: RATE_LIMIT },
          callback: { batch_interval_ms: 50, timeout_ms: 2000, retry: { base_ms: 100, max_ms: 500 } },
        },
      });
    const launch = async (jobs: JobSpec[]) => {
      const c = client(base, world.foreman);
      try {
        const reply = await postJson(c, '/dynflow/tasks/launch', batchLaunch(jobs, base));
        expect(reply.status).toBe(200);
      } finally {
        await c.close();
      }
    };
    const statuses = async (jobs: JobSpec[]) => {
      const c = client(base, world.foreman);
      try {
        return (await postJson(c, '/dynflow/tasks/status', { task_ids: jobs.map((j) => j.taskId) })).json as Record<string, { state: string }>;
      } finally {
        await c.close();
      }
    };
    const ft = (j: JobSpec) => `ft-${j.taskId}`;

    daemon = await startDaemonProcess(dir, 'proxy-proxy', yaml(3600));
    // Ten jobs take every slot; each waits (bounded) for the gate file, then prints and exits.
    // The worker sends its output with the exit, in one POST.
    const waitGate = `i=0; while [ ! -e '${gate}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`;
    const stuck: JobSpec[] = Array.from({ length: RATE_LIMIT }, (_, k) => ({
      taskId: randomUUID(),
      host: `host${k + 1}.example.test`,
      script: `#!/bin/sh\n${waitGate}\necho "stuck ${k}"\nexit 3\n`,
    }));
    await launch(stuck);
    await sim.waitForCount('every slot-holding job started', (e) => e.event === 'started', RATE_LIMIT, 20_000);

    await daemon.kill();
    writeFileSync(gate, '');
    // Every exit is posted while nothing listens; the simulated worker does not retry.
    const lost = await sim.waitForCount('every exit posted into the outage', (e) => e.event === 'posted' && e.exit === true, RATE_LIMIT, 20_000);
    for (const e of lost) expect({ status: e.status, error: typeof e.error }).toEqual({ status: undefined, error: 'string' });

    const restartedAt = Date.now();
    daemon = await startDaemonProcess(dir, 'proxy-proxy', yaml(3600));
    // The ten lost reports hold no slot: twenty new jobs run now, while the ten still read running.
    const late: JobSpec[] = Array.from({ length: LATE_JOBS }, (_, k) => ({
      taskId: randomUUID(),
      host: `host${RATE_LIMIT + k + 1}.example.test`,
      script: `#!/bin/sh\necho "late ${k}"\n`,
    }));
    await launch(late);
    await waitFor(() => late.every((j) => foreman.results.has(ft(j))), 'every new job at Foreman', 30_000);
    for (const [k, j] of late.entries()) expect(foreman.results.get(ft(j))).toMatchObject({ exit_status: 0, result: [{ output: `late ${k}\n` }] });
    const meanwhile = await statuses(stuck);
    for (const j of stuck) expect(meanwhile[j.taskId]).toEqual({ state: 'running', result: 'pending' });
    for (const j of stuck) expect(foreman.results.has(ft(j))).toBe(false);

    // `proxy-proxy status` lists them, JSON and text (the text also shows the spool).
    const json = JSON.parse((await run(process.execPath, [CLI, 'status', '--config', config, '--json'])).stdout) as {
      rex: { lostReportSuspects: { taskId: string; host: string; since: number; due: number }[]; jobs: Record<string, number> };
    };
    const suspects = json.rex.lostReportSuspects;
    expect(suspects.map((s) => s.taskId).sort()).toEqual(stuck.map((j) => j.taskId).sort());
    const since = suspects[0]!.since;
    expect(since).toBeGreaterThanOrEqual(restartedAt);
    for (const s of suspects) expect({ since: s.since, due: s.due }).toEqual({ since, due: since + 3600_000 });
    expect(json.rex.jobs).toMatchObject({ finished: LATE_JOBS, delivered: RATE_LIMIT });
    const text = (await run(process.execPath, [CLI, 'status', '--config', config])).stdout;
    expect(text).toMatch(new RegExp(`^remote execution spool: ready_for_pickup 0, notified 0, delivered ${RATE_LIMIT}, running 0, finished ${LATE_JOBS} \\(0 failed, \\d+ in the last minute\\); MQTT connected$`, 'm'));
    for (const j of stuck) expect(text).toMatch(new RegExp(`^  ${j.taskId}  ${j.host.replace(/\./g, '\\.')} +${new Date(since).toISOString()}  (59m|1h0m)`, 'm'));

    // A shorter bound, applied at the next start: they end now, saying since when nothing came.
    await daemon.stop();
    daemon = await startDaemonProcess(dir, 'proxy-proxy', yaml(1));
    await waitFor(() => stuck.every((j) => foreman.results.has(ft(j))), 'the lost reports ended at Foreman', 20_000);
    const why = `No report from the host since proxy-proxy restarted at ${new Date(since).toISOString()}`;
    for (const j of stuck) {
      const data = foreman.results.get(ft(j))!;
      expect(data.exit_status).toBe('EXCEPTION');
      // Never heard of since its fetch, yet it reads as every result does.
      expect(data.state).toBe('running');
      expect(data.result).toEqual([{ output_type: 'debug', output: expect.stringContaining(why), timestamp: expect.any(Number) }]);
      expect(data.result[0]!.output).toContain('rex.lost_report_timeout');
    }
    // Each job reached Foreman exactly once, and the late hosts' too.
    const accepted = new Map<string, number>();
    for (const p of foreman.posts) if (p.status === 200) for (const e of p.body.callbacks ?? []) accepted.set(e.callback.task_id, (accepted.get(e.callback.task_id) ?? 0) + 1);
    expect(accepted.size).toBe(RATE_LIMIT + LATE_JOBS);
    for (const j of [...stuck, ...late]) expect({ task: ft(j), n: accepted.get(ft(j)) }).toEqual({ task: ft(j), n: 1 });
    const after = await statuses(stuck);
    for (const j of stuck) expect(after[j.taskId]).toEqual({ state: 'stopped', result: 'success' });
    await daemon.stop();
    daemon = undefined;
  }, 120_000);
});
