// Simulated smart proxies (the project's own simulator, each its own process), stopped by the
// bench's cleanup whatever happens.
import { startSimProcess, type SimProcess } from '../test/support/sim-process.js';
import { onCleanup } from './cleanup.js';

export async function startSims(names: string[], args: string[] = []): Promise<SimProcess[]> {
  const sims = await Promise.all(names.map((name) => startSimProcess({ name, args })));
  for (const s of sims) onCleanup(() => s.stop());
  return sims;
}

export type { SimProcess };
