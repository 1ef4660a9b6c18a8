// What every fault campaign asks of its run as a whole, beyond the checkpoints: every planned
// operation answered, and a mix that proves something.
import { expect } from '@jest/globals';
import { planLength, type Step } from './plan.js';
import type { CampaignReport } from './run.js';

/**
 * A campaign where (almost) nothing succeeded or nothing failed proves little. The plan's faults
 * and kills are drawn from the seed before the run: a seed may draw few, none is a harness defect.
 */
export function expectTellingRun(report: CampaignReport, plan: Step[]): void {
  const total = planLength(plan);
  const ok = report.answers.filter((a) => a.status >= 200 && a.status < 300).length;
  expect(report.answers.length).toBe(total);
  expect(ok).toBeGreaterThan(total / 3);
  expect(total - ok).toBeGreaterThan(total / 50);
  expect(report.faults).toBeGreaterThan(0);
  expect(report.kills).toBeGreaterThan(0);
}
