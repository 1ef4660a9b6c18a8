// V8 grows its young generation when many objects survive its collections, as everything does
// while the modules load at start-up; left alone, an idle daemon kept an 8 MiB young generation
// (about 6 MiB resident, almost all of it unused). Start-up holds it at its initial size; once
// the daemon serves, the default growth applies again, so that traffic gets the young
// generation it needs. docs/operations.md ("Start-up and memory").
import { setFlagsFromString } from 'node:v8';

/** V8's default --semi-space-growth-factor. */
const DEFAULT_GROWTH = 2;

/** An operator's own setting (NODE_OPTIONS, node flags) is left alone. */
const setByOperator = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('semi-space'));

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
