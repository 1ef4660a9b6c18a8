// The machine a run happened on, read at run time: numbers mean little without it.
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  haproxy?: string;
  wrk?: string;
  date: string;
  /** 1-minute load average at the start and the end of the run: other work skews numbers. */
  load: string;
}

function firstLine(cmd: string, args: string[]): string | undefined {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return out.split('\n')[0]?.trim() || undefined;
  } catch (err) {
    // wrk -v prints its version and exits 1.
    const out = String((err as { stdout?: string }).stdout ?? '');
    return out.split('\n')[0]?.trim() || undefined;
  }
}

export const loadNow = (): string => loadavg()[0]!.toFixed(2);

export function machineInfo(loadAtStart: string): MachineInfo {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    haproxy: firstLine('haproxy', ['-v'])?.replace(/^HA-?Proxy version (\S+).*/, 'HAProxy $1'),
    wrk: firstLine('wrk', ['-v'])?.split(' ').slice(0, 2).join(' '),
    load: `${loadAtStart} → ${loadNow()}`,
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  };
}
