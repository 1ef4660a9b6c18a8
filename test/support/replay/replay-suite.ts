// The replay itself, for any target: all recorded exchanges in file order (state carries over),
// each compared on status, Content-Type, body, headers and side effects.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { SimProcess } from '../sim-process.js';
import { checkBody, checkHeaders, checkLabels } from './answer-checks.js';
import { checkEffects, settle, statesOf, tree, type Tree } from './effects.js';
import { loadExchanges, type Exchange } from './exchange.js';
import { ReplayRun } from './replay-run.js';
import { send } from './sender.js';
import type { ReplayEnv, ReplayTarget, Tolerance } from './target.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function describeReplay(title: string, startTarget: (env: ReplayEnv) => Promise<ReplayTarget>, tolerance: Tolerance): void {
  describe(title, () => {
    const run = new ReplayRun(tolerance);
    beforeAll(() => run.start(startTarget));
    afterAll(() => run.stop());
    for (const ex of loadExchanges()) {
      const exception = tolerance.exceptions[ex.id];
      it(`${ex.id}: ${ex.note}${exception ? ` [exception: ${exception.reason}]` : ''}`, () => replayOne(ex, run));
    }
  });
}

async function replayOne(ex: Exchange, run: ReplayRun): Promise<void> {
  const { target, upstream } = run;
  const problems: string[] = [];
  if (ex.id === 'templates-relay-upstream-down') await upstream.stop();
  if (ex.id === 'logs-marker-request') {
    await sleep(30);
    run.fromTimestamp = Date.now() / 1000;
    await sleep(30);
  }
  const before = new Map<SimProcess, Tree>([...(await statesOf(target.tftpSims))].map(([s, st]) => [s, tree(st)]));
  upstream.lines = [];

  const answer = await send(ex, run);
  if (ex.id === 'templates-relay-upstream-down') await upstream.start(upstream.port);
  await settle(ex, run);
  const after = await statesOf(target.sims);

  checkLabels(ex, answer);
  checkBody(ex, answer, run, after.get(target.stateSim)!, problems);
  checkHeaders(ex, answer, run, problems);
  checkEffects(ex, run, before, after, problems);
  expect(problems).toEqual([]);
}
