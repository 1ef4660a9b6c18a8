// Runs wrk (one thread, so the load generator takes one core at most on a small machine) and
// reads its summary. A run with socket errors or non-2xx answers is rejected: a proxy that
// answers 403 or 502 quickly must not look fast.
import { execFile } from 'node:child_process';

export interface WrkResult {
  rps: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

export class WrkError extends Error {}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

export function parseWrk(out: string): WrkResult {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
    if (!m) throw new WrkError(`wrk output has no ${p}% line:\n${out}`);
    return toMs(m[1]!, m[2]!);
  };
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(out);
  const total = /^\s*(\d+) requests in/m.exec(out);
  if (!rps || !total) throw new WrkError(`unexpected wrk output:\n${out}`);
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (non2xx) throw new WrkError(`${non2xx[1]} answers were not 2xx/3xx`);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (sock && sock.slice(1).some((n) => Number(n) > 0)) throw new WrkError(`socket errors: ${sock[0]}`);
  return { rps: Number(rps[1]), requests: Number(total[1]), p50Ms: pct('50'), p99Ms: pct('99') };
}

export function runWrk(url: string, connections: number, seconds: number): Promise<WrkResult> {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '--timeout', '5s', url];
  return new Promise((resolve, reject) => {
    // Bounded: wrk stops itself after -d; the timeout is for a wedged run.
    execFile('wrk', args, { timeout: (seconds + 15) * 1000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) return reject(new WrkError(`wrk ${args.join(' ')}: ${err.message} ${stderr}`));
      try {
        resolve(parseWrk(stdout));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
