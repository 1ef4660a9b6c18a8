// What a fault campaign test run takes from the environment: PP_SEED (replay a seed), PP_OPS
// (its length), PP_PLAN (replay a plan file a failed run wrote, whatever the generator does now).
import { readFileSync } from 'node:fs';
import { drawPlan, type PlanOptions, type Step } from './plan.js';

export function campaignSeed(): number {
  return process.env.PP_SEED !== undefined ? Number(process.env.PP_SEED) >>> 0 : (Date.now() ^ (process.pid << 10)) >>> 0;
}

export function campaignOps(fallback: number): number {
  return Number(process.env.PP_OPS ?? fallback);
}

export function campaignPlan(options: PlanOptions): Step[] {
  if (process.env.PP_PLAN) return JSON.parse(readFileSync(process.env.PP_PLAN, 'utf8')) as Step[];
  return drawPlan(options);
}
