// The seeded fault campaign against two proxy-proxy instances (processes) sharing one PostgreSQL
// database: its requests split across both (writes to one key often sent through both at once),
// backend faults as in the single-instance campaign, and one instance killed with SIGKILL at
// seeded points, staying away for a few batches (its share goes to the other) while the
// survivor takes its open writes over once its lease has run out. At each checkpoint: nothing
// open or behind, every backend holds what the answers imply and equals the shared ledger (the
// drift check through each instance), and at the end no saga of either is left unfinished.
// PP_SEED / PP_OPS / PP_PLAN replay as in test/converge/fault-campaign.test.ts.
import { describe, it, expect, afterAll } from '@jest/globals';
import { join } from 'node:path';
import { PgStateStore } from '../../src/state/postgresql/store.js';
import { clusterYaml, startSims, tempDir, type ManagedSim } from '../support/converge-cluster.js';
import { CampaignInstance } from '../support/campaign/instances.js';
import { campaignOps, campaignPlan, campaignSeed } from '../support/campaign/options.js';
import { expectTellingRun } from '../support/campaign/checks.js';
import { answerCounts, errorKinds, latency, runCampaign } from '../support/campaign/run.js';
import { freshDatabase } from '../support/postgres.js';

const SEED = campaignSeed();
const OPS = campaignOps(150);
const FAULT_RATE = 0.12;
const KILLS = 4;

describe('fault campaign on two instances sharing PostgreSQL', () => {
  let sims: ManagedSim[] = [];
  const instances: CampaignInstance[] = [];
  afterAll(async () => {
    for (const i of instances) await i.stop();
    await Promise.all(sims.map((s) => s.stop()));
  });

  it(`${OPS} operations split across two instances, random faults on 3 replicas, ${KILLS} kill -9s of one instance (seed ${SEED})`, async () => {
    const base = tempDir('pp-cluster-campaign-');
    const url = await freshDatabase();
    sims = await startSims(['sim-a', 'sim-b', 'sim-c'], base);
    const plan = campaignPlan({ seed: SEED, ops: OPS, sims: sims.map((s) => s.name), instances: 2, checkpoints: 6, faultRate: FAULT_RATE, kills: KILLS, maxDownFor: 8 });
    const feature = '{ policy: replicate, on_backend_down: catch_up, min_success: 2 }';
    for (const name of ['pp-a', 'pp-b']) {
      instances.push(
        await CampaignInstance.start(name, base, (port) =>
          clusterYaml({
            sims,
            stateDir: join(base, `state-${name}`),
            httpPort: port,
            logLevel: 'INFO',
            responseTimeoutMs: 400,
            features: `  tftp: ${feature}\n  dhcp: ${feature}\n`,
            // A short lease: a killed instance's open writes are taken over within about 2 s.
            extra: `health_check: { interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1 }
passive_ejection: { consecutive_failures: 2, base_ejection_ms: 150, max_ejection_ms: 400 }
compensation_retry: { base_ms: 100, max_ms: 1000 }
state: { driver: postgresql, url: "${url}", pool_size: 8, lease_ms: 1500, takeover_interval_ms: 250 }`,
          }),
        ),
      );
    }
    const report = await runCampaign({ seed: SEED, plan, sims, instances, planFile: join(base, `plan-${SEED}.json`), settleMs: 30_000 });

    // No saga of either instance is left open or half undone.
    const store = await PgStateStore.open({ url, poolSize: 1 });
    try {
      expect((await store.sagaCounts()).filter((c) => c.status === 'open' || c.status === 'compensating')).toEqual([]);
    } finally {
      await store.close();
    }
    expectTellingRun(report, plan);
    // Both instances answered a share of the requests.
    expect(new Set(report.answers.map((a) => a.instance))).toEqual(new Set(['pp-a', 'pp-b']));
    if (process.env.PP_VERBOSE) process.stdout.write(errorKinds(report.answers) + '\n');
    process.stdout.write(
      `cluster fault campaign seed ${SEED}: ${OPS} ops in ${report.batches} batches, ${report.faults} faults, ${report.kills} kill -9 (${report.lost} answers lost, ` +
        `${report.recovered} sagas settled at restart, ${report.takenOver} taken over), answers ${JSON.stringify(answerCounts(report.answers))}, ${latency(report.answers)}; ${report.opMs} ms in requests, ${report.settleMs} ms settling, ${report.checkpoints} checkpoints (${report.survivorCheckpoints} with an instance away)\n`,
    );
  }, 240_000);
});
