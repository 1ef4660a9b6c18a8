// Two built daemons on one PostgreSQL database and one Mosquitto; A is killed (SIGKILL) in the
// middle of 500 jobs launched through it. Most jobs name B as the proxy their hosts fetch from
// and report to, one batch names A. Hosts behave as yggd: a fetch or a POST that fails is never
// retried. Foreman holds its answers at the moment of the kill, so that A dies with callback
// POSTs in flight whose answer it never got (and that Foreman therefore never counted): B must
// send those once A's instance lease has expired, not after their own (much longer) callback
// lease. Some jobs of each instance wait at a gate across the kill: A's report into the void
// and B ends them once it has taken them over; B's are never taken for lost, and end as their
// scripts say once the gates open. Every result reaches Foreman exactly once.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startDaemonProcess, type DaemonProcess } from '../support/daemon-process.js';
import { client } from '../support/http-client.js';
import { foremanAcl, startMosquitto, type Mosquitto } from '../support/mosquitto.js';
import { freshDatabase } from '../support/postgres.js';
import type { IssuedCert } from '../support/pki.js';
import { inParallel } from '../rex/fleet.js';
import { batchLaunch, createWorld, rexYaml, postJson, PROXY_CN, startFakeForeman, TestHost, waitFor, type FakeForeman, type JobSpec, type World } from '../rex/rex-harness.js';

const JOBS = 500;
const HOSTS = 50;
const BATCH = 100;
/** The batch whose hosts fetch from and report to A; the others use B. */
const A_BATCH = 2;
/** Jobs of B's batches that run past their execution timeout: the host is asked to stop. */
const TIMEOUT_EVERY = 25;
const LOST_REPORT_S = 5;

interface Job extends JobSpec {
  n: number;
  via: 'a' | 'b';
  exit: number;
  /** B's: runs past its execution timeout, and the host is asked to stop. */
  timesOut: boolean;
  /** Waits at the gate, which opens only once A is dead and its jobs are taken over. */
  gated: boolean;
}

/** A seeded spread of run times, so that B's jobs end all along the run, before and after the kill. */
function makeJobs(hosts: string[]): Job[] {
  let seed = 0x9e3779b9;
  const next = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: JOBS }, (_, n) => {
    const via = Math.floor(n / BATCH) === A_BATCH ? 'a' : 'b';
    const timesOut = via === 'b' && n % TIMEOUT_EVERY === 7;
    const gated = via === 'a' ? n % 2 === 1 : n % 10 === 3;
    const exit = n % 4;
    const sleep = timesOut ? 60_000 : via === 'a' ? 200 + Math.floor(next() * 1800) : 500 + Math.floor(next() * 19_500);
    return {
      n,
      via,
      exit,
      timesOut,
      gated,
      taskId: randomUUID(),
      host: hosts[n % hosts.length]!,
      script: gated ? `echo start ${n}\ngate\necho end ${n}\nexit ${exit}` : `echo start ${n}\nsleep ${sleep}\necho end ${n}\nexit ${exit}`,
      executionTimeout: timesOut ? 6 : null,
    };
  });
}

const ft = (j: JobSpec) => `ft-${j.taskId}`;

describe('REX on two instances: A killed mid-run', () => {
  let world: World;
  let foreman: FakeForeman;
  let broker: Mosquitto;
  let url: string;
  const daemons: DaemonProcess[] = [];
  const hosts: TestHost[] = [];

  beforeAll(async () => {
    world = await createWorld();
    foreman = await startFakeForeman(world);
    broker = await startMosquitto({
      plain: false,
      tls: { caFile: world.pki.caCert, certFile: world.proxy.cert, keyFile: world.proxy.key, acl: foremanAcl(PROXY_CN) },
    });
    url = await freshDatabase();
  }, 60_000);

  afterAll(async () => {
    for (const d of daemons) await d.stop();
    for (const h of hosts) await h.close();
    await broker?.dispose();
    await foreman?.close();
  });

  /** The daemon as systemd runs it; its callbacks carry a certificate of its own, so Foreman tells A's POSTs from B's. */
  const yaml = (name: string, callbackCert: IssuedCert) =>
    rexYaml(world, {
      foremanUrl: foreman.url,
      stateDir: mkdtempSync(join(tmpdir(), `pp-rex-kill-${name}-`)),
      top: { https_port: 0, state: { driver: 'postgresql', url, pool_size: 8 } },
      rex: {
        lost_report_timeout: LOST_REPORT_S,
        // Generous: hosts share one connection per host, and the machine may be loaded.
        cancel_grace: 20,
        mqtt: { broker: broker.tlsUrl, ttl: 2, resend_interval: 4 },
        callback: {
          batch_interval_ms: 50,
          // Far longer than the test: a result A had in a POST can only come back through its instance lease.
          timeout_ms: 300000,
          retry: { base_ms: 100, max_ms: 500 },
          ssl_certificate: callbackCert.cert,
          ssl_private_key: callbackCert.key,
          ssl_ca_file: world.pki.caCert,
        },
      },
    });

  it('every result reaches Foreman exactly once; B takes over what A held once its lease expired', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pp-rex-kill-'));
    const [certA, certB] = await Promise.all([world.pki.issue('proxy-a.example.test'), world.pki.issue('proxy-b.example.test')]);
    const a = await startDaemonProcess(dir, 'a', yaml('a', certA));
    daemons.push(a);
    const b = await startDaemonProcess(dir, 'b', yaml('b', certB));
    daemons.push(b);
    const names = Array.from({ length: HOSTS }, (_, i) => `rk${i}.example.test`);
    await inParallel(names, 8, async (name) => {
      hosts.push(new TestHost(name, await world.host(name)));
    });
    await inParallel(hosts, 10, (h) => h.connect(broker.tlsUrl!));

    const jobs = makeJobs(names);
    const launcher = client(a.urls.https!, world.foreman);
    try {
      for (let i = 0; i < JOBS; i += BATCH) {
        const batch = jobs.slice(i, i + BATCH);
        const proxyUrl = batch[0]!.via === 'a' ? a.urls.https! : b.urls.https!;
        const reply = await postJson(launcher, '/dynflow/tasks/launch', batchLaunch(batch, proxyUrl));
        expect(reply.status).toBe(200);
      }
    } finally {
      await launcher.close();
    }

    // Mid-run: every job of A's fetched through A and its quick ones reported through A, a good
    // part of B's results in, the rest running or waiting at their gate.
    const fetchedFromA = () => hosts.flatMap((h) => h.fetches).filter((f) => f.status === 200 && f.url.startsWith(a.urls.https!)).length;
    await waitFor(() => fetchedFromA() === BATCH, "every job of A's fetched", 90_000);
    await waitFor(() => jobs.every((j) => j.via !== 'a' || j.gated || foreman.results.has(ft(j))), "A's quick jobs reported", 60_000);
    await waitFor(() => foreman.results.size >= 150, '150 results at Foreman', 90_000);
    foreman.hold();
    // A has a POST in flight (it owes results as B does: it hears B's 'finished' too).
    await waitFor(() => foreman.held().some((h) => h.cn === 'proxy-a.example.test'), 'a callback POST of A held', 30_000);
    // Every result Foreman has answered is recorded as delivered by its sender: the kill cannot
    // fall between Foreman's answer and its record (that would be a true duplicate, which no
    // sender can avoid), only on POSTs Foreman has not answered.
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const undelivered = async () => {
        const answered = jobs.filter((j) => foreman.results.has(ft(j))).map((j) => j.taskId);
        const r = await db.query<{ n: number }>("SELECT COUNT(*)::int AS n FROM rex_jobs WHERE task_id = ANY($1) AND callback_state <> 'done'", [answered]);
        return r.rows[0]!.n;
      };
      await waitFor(async () => (await undelivered()) === 0, 'every answered result recorded', 30_000);
    } finally {
      await db.end();
    }
    await a.kill();
    const heldByA = foreman.held().filter((h) => h.cn === 'proxy-a.example.test');
    await waitFor(() => foreman.held().filter((h) => h.cn === 'proxy-a.example.test').every((h) => h.closed), "A's held POSTs cut off", 10_000);
    const takenFromA = new Set(heldByA.flatMap((h) => h.taskIds));
    expect(takenFromA.size).toBeGreaterThan(0);
    foreman.release();

    // A's gated jobs: B takes them over once A's lease expired, and ends them after
    // lost_report_timeout. By then B would have ended its own gated jobs too, had it taken them
    // for lost; they are still running.
    const gatedOf = (via: 'a' | 'b') => jobs.filter((j) => j.gated && j.via === via);
    await waitFor(() => gatedOf('a').every((j) => foreman.results.has(ft(j))), "A's gated jobs ended by B", 90_000);
    expect(gatedOf('b').filter((j) => foreman.results.has(ft(j))).map((j) => j.n)).toEqual([]);
    for (const h of hosts) h.openGate();

    await waitFor(() => jobs.every((j) => foreman.results.has(ft(j))), 'every result at Foreman', 150_000);

    // Exactly once: one accepted entry per job, across both senders.
    const accepted = new Map<string, { count: number; cn: string[] }>();
    for (const p of foreman.posts) {
      if (p.status !== 200) continue;
      for (const e of p.body.callbacks ?? []) {
        const seen = accepted.get(e.callback.task_id) ?? { count: 0, cn: [] };
        seen.count += 1;
        seen.cn.push(p.cn ?? '?');
        accepted.set(e.callback.task_id, seen);
      }
    }
    expect(jobs.filter((j) => accepted.get(ft(j))?.count !== 1).map((j) => [j.n, accepted.get(ft(j))])).toEqual([]);
    // What A had in its POSTs when it died came from B, after A's lease (its callback lease was five minutes).
    for (const id of takenFromA) expect(accepted.get(id)!.cn).toEqual(['proxy-b.example.test']);
    expect(b.lines.some((l) => /result\(s\) owed to Foreman by an instance that is gone are sent from here/.test(l))).toBe(true);

    for (const j of jobs) {
      const data = foreman.results.get(ft(j))!;
      const outputs = data.result.filter((r) => r.output_type !== 'debug').map((r) => r.output);
      const debug = data.result.filter((r) => r.output_type === 'debug').map((r) => r.output);
      if (j.timesOut) {
        // Its execution timeout fired once, by whichever instance claimed it: the host was asked
        // to stop and obeyed, or (a loaded machine) it had not even fetched the job by then.
        expect([j.n, debug]).toEqual([j.n, [expect.stringMatching(/^Execution timeout exceeded/)]]);
        if (data.exit_status === 'EXCEPTION') expect([j.n, outputs]).toEqual([j.n, []]);
        else expect([j.n, data.exit_status, outputs]).toEqual([j.n, 143, [`start ${j.n}\n`, 'Terminated\n']]);
      } else if (j.via === 'a' && j.gated) {
        // Its exit went to A, dead: B ended it once it had taken it over.
        expect([j.n, data.exit_status, outputs, debug]).toEqual([j.n, 'EXCEPTION', [`start ${j.n}\n`], [expect.stringMatching(/^No report from the host since/)]]);
      } else {
        // Reported through A before the kill, or through B before or after it: as the script says.
        expect([j.n, data.exit_status, outputs, debug]).toEqual([j.n, j.exit, [`start ${j.n}\n`, `end ${j.n}\n`], []]);
      }
    }
    expect(b.lines.some((l) => /running job\(s\) were served by an instance that is gone/.test(l))).toBe(true);
    // The only reports lost were those sent to A after its death.
    expect(hosts.flatMap((h) => h.updates).filter((u) => u.status !== 200 && !u.url.startsWith(a.urls.https!))).toEqual([]);
    // Each job ran at most once: one accepted fetch per job.
    const fetched = hosts.flatMap((h) => h.fetches.filter((f) => f.status === 200).map((f) => f.url));
    expect(new Set(fetched).size).toBe(fetched.length);
  }, 300_000);
});
