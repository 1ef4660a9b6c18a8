// The rex-scale plan and how it names jobs without a result: pure functions, no processes.
import { describe, expect, it } from '@jest/globals';
import { missing, rexPlan } from '../../bench/sections/rex-scale.js';

describe('rex-scale plan', () => {
  it('forks per job only up to 1,000 hosts and runs the largest size in process per driver', () => {
    expect(rexPlan([1000, 10000], ['sqlite', 'postgresql'])).toEqual([
      { n: 1000, emulated: false, driver: 'sqlite' },
      { n: 10000, emulated: true, driver: 'sqlite' },
      { n: 10000, emulated: true, driver: 'postgresql' },
    ]);
    expect(rexPlan([2000], ['sqlite'])).toEqual([{ n: 2000, emulated: true, driver: 'sqlite' }]);
    expect(rexPlan([5], ['sqlite', 'postgresql']).map((r) => `${r.n}${r.emulated ? '-in-process' : ''}-${r.driver}`)).toEqual([
      '5-sqlite',
      '5-in-process-sqlite',
      '5-in-process-postgresql',
    ]);
  });

  it('calls jobs still held (by a simulator, or not yet handed out by the daemon) not finished, never lost', () => {
    expect(missing(0, 0)).toEqual({ lost: 0, unfinished: 0 });
    expect(missing(4771, 4771)).toEqual({ lost: 0, unfinished: 4771 });
    expect(missing(10, 4)).toEqual({ lost: 6, unfinished: 4 });
    // Counts read a moment apart: never more not finished than without a result.
    expect(missing(3, 50)).toEqual({ lost: 0, unfinished: 3 });
  });
});
