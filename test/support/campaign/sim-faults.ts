// Backend faults of the fault campaign, put on and lifted from the simulators.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedSim } from '../converge-cluster.js';
import type { FaultSpec } from './plan.js';

export function describeFault(f: FaultSpec): string {
  if (f.kind === 'http500' || f.kind === 'http409') return `${f.kind.slice(4)} on ${f.method} ${f.pattern}`;
  if (f.kind === 'hang_path' || f.kind === 'apply_then_hang' || f.kind === 'reset') return `${f.kind === 'hang_path' ? 'hang' : f.kind} on ${f.method} ${f.pattern}`;
  return f.kind;
}

export async function injectFault(sim: ManagedSim, f: FaultSpec): Promise<void> {
  switch (f.kind) {
    case 'refuse':
      await sim.faults({ refuse: true });
      break;
    case 'http500':
    case 'http409': {
      const status = f.kind === 'http500' ? 500 : 409;
      await sim.faults({ fail_path: { method: f.method, pattern: f.pattern, status, body: `injected ${status}` } });
      break;
    }
    case 'hang':
    case 'hang_then_die':
      await sim.faults({ hang: true });
      break;
    case 'hang_path':
    case 'apply_then_hang':
    case 'reset':
      await sim.faults({ fail_path: { method: f.method, pattern: f.pattern, action: f.kind === 'hang_path' ? 'hang' : f.kind } });
      break;
    case 'restart':
      // Down for a while, then a new process on the same port and state.
      await sim.stop();
      break;
    case 'rebuilt':
      // Down for a while, then back at the same address with nothing: empty TFTP root, no
      // reservations. It must get everything back from the ledger.
      await sim.stop();
      rmSync(join(sim.dir, 'tftp'), { recursive: true, force: true });
      rmSync(join(sim.dir, 'dhcp.json'), { force: true });
      break;
  }
}

/**
 * Lifts a fault. `seenDown` resolves once every running proxy-proxy instance has marked the
 * backend down: a rebuild takes longer than the health checks, so they see it gone first.
 */
export async function liftFault(sim: ManagedSim, f: FaultSpec, seenDown: () => Promise<void>): Promise<void> {
  if (f.kind === 'restart') await sim.startAgain();
  else if (f.kind === 'hang_then_die') {
    // It froze, then died: a new process on its state (what it applied before is kept).
    await sim.proc.kill();
    await sim.startAgain();
  } else if (f.kind === 'rebuilt') {
    await seenDown();
    await sim.startAgain();
  } else await sim.faults({ clear: true });
}
