// V8 grows its young generation when many objects survive its collections, as everything does
// while the modules load at start-up; left alone, an idle daemon kept a young generation of 8 to
// 16 MiB (5-7 MiB resident, almost all of it unused). Start-up holds it at its initial size
// until the last module (winston) is loaded; then V8's default growth applies again, so that
// traffic gets the young generation it needs. Measured (footprint bench, idle daemon): 70.5-70.9
// MiB without, 65.9-66.8 MiB with; the old generation grows by less than the young one saves.
// docs/operations.md ("Start-up and memory").
import { setFlagsFromString } from 'node:v8';

/** V8's default --semi-space-growth-factor. */
const DEFAULT_GROWTH = 2;

/** An operator's own setting (node's command line) is left alone. */
const setByOperator = process.execArgv.some((a) => a.includes('semi-space'));

let held = false;

export function holdYoungGeneration(): void {
  if (setByOperator || held) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  held = true;
}

export function releaseYoungGeneration(): void {
  if (!held) return;
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH}`);
  held = false;
}

/**
 * Runs `compile` with V8's flags as the build had them: V8 rejects a code cache made under other
 * flags (it compares a hash of them), and the hold changes one. The configuration validator's
 * cache (config/validator.ts) was rejected at every start until this: some 25 ms of CPU.
 */
export function underBuildFlags<T>(compile: () => T): T {
  if (!held) return compile();
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH}`);
  try {
    return compile();
  } finally {
    setFlagsFromString('--semi-space-growth-factor=1');
  }
}
