// Randomised fault campaign: hundreds of colliding TFTP and DHCP writes through proxy-proxy (the
// built daemon, its own process) to three simulators while faults come and go (refused, 5xx,
// 409, hung, hung then dead, reset connections, restarts, backends rebuilt empty), up to three
// at once and often on the same key, and proxy-proxy itself is killed with SIGKILL mid-batch and
// started again on the same state and port. At each checkpoint: nothing left open or behind,
// every backend holds exactly what the answers Foreman got imply (a 2xx write is applied, an
// error is not; of writes to one key answered 2xx together, or whose answer the kill lost, one
// holds), the three are identical, and the daemon's drift check finds them in step with the
// ledger.
// Seeded: the plan (operations, batches, faults, kills) is a function of the seed alone, never
// of the answers or of timing, so PP_SEED=<n> replays a run exactly (PP_OPS=<n> changes its
// length); the plan is also written to a file named on failure (PP_PLAN=<file> replays it).
import { describe, it, expect, afterAll } from '@jest/globals';
import { join } from 'node:path';
import { clusterYaml, startSims, tempDir, type ManagedSim } from '../support/converge-cluster.js';
import { runCli } from './cli-process.js';
import { CampaignInstance } from '../support/campaign/instances.js';
import { campaignOps, campaignPlan, campaignSeed } from '../support/campaign/options.js';
import { expectTellingRun } from '../support/campaign/checks.js';
import { answerCounts, errorKinds, latency, runCampaign } from '../support/campaign/run.js';

const SEED = campaignSeed();
const OPS = campaignOps(250);
const FAULT_RATE = 0.12;
const KILLS = 5;

describe('fault campaign: success ⇔ applied, all backends identical, proxy-proxy killed mid-batch', () => {
  let sims: ManagedSim[] = [];
  let daemon: CampaignInstance | undefined;
  afterAll(async () => {
    await daemon?.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it(`${OPS} operations, up to 3 at once, random faults on 3 replicas, ${KILLS} kill -9s of proxy-proxy (seed ${SEED})`, async () => {
    const base = tempDir('pp-campaign-');
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const plan = campaignPlan({ seed: SEED, ops: OPS, sims: sims.map((s) => s.name), instances: 1, checkpoints: 8, faultRate: FAULT_RATE, kills: KILLS, maxDownFor: 0 });
    const feature = '{ policy: replicate, on_backend_down: catch_up, min_success: 2 }';
    daemon = await CampaignInstance.start('proxy-proxy', base, (port) =>
      clusterYaml({
        sims,
        stateDir: join(base, 'state'),
        httpPort: port,
        logLevel: 'INFO',
        responseTimeoutMs: 400,
        features: `  tftp: ${feature}\n  dhcp: ${feature}\n`,
        extra: `health_check: { interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 2, base_ejection_ms: 150, max_ejection_ms: 400 }
compensation_retry: { base_ms: 100, max_ms: 1000 }`,
      }),
    );
    const report = await runCampaign({ seed: SEED, plan, sims, instances: [daemon], planFile: join(base, `plan-${SEED}.json`), settleMs: 30_000 });

    // The operator's drift command agrees at the end: in step, exit status 0.
    const drift = await runCli(['drift', '--url', daemon.baseUrl]);
    expect([drift.code, drift.stdout.trim().split('\n').at(-1)]).toEqual([0, expect.stringMatching(/0 difference\(s\).*in step/)]);

    expectTellingRun(report, plan);
    if (process.env.PP_VERBOSE) process.stdout.write(errorKinds(report.answers) + '\n');
    process.stdout.write(
      `fault campaign seed ${SEED}: ${OPS} ops in ${report.batches} batches, ${report.faults} faults, ${report.kills} kill -9 (${report.lost} answers lost, ` +
        `${report.recovered} sagas settled at restart), answers ${JSON.stringify(answerCounts(report.answers))}, ${latency(report.answers)}; ${report.opMs} ms in requests, ${report.settleMs} ms settling, ${report.checkpoints} checkpoints\n`,
    );
  }, 240_000);
});
