// How a job's output grows, the same for every driver: appended after what the job holds,
// timestamps strictly increasing, within the byte budget, and once something was dropped
// everything after it is too (no holes in the middle).

export interface PendingOutput {
  type: string;
  text: string;
  atUs?: number;
}

/** What a job holds so far (its row's output columns). */
export interface OutputProgress {
  seq: number;
  lastUs: number;
  bytes: number;
  truncated: number;
}

export interface OutputRow {
  seq: number;
  type: string;
  text: string;
  atUs: number;
}

export function planOutput(from: OutputProgress, outputs: PendingOutput[], now: number, maxBytes: number): { rows: OutputRow[]; progress: OutputProgress } {
  let { seq, lastUs, bytes, truncated } = from;
  const rows: OutputRow[] = [];
  for (const o of outputs) {
    const size = Buffer.byteLength(o.text, 'utf8');
    let text = o.text;
    let type = o.type;
    if (type !== 'debug' && truncated) continue;
    if (type !== 'debug' && bytes + size > maxBytes) {
      truncated = 1;
      type = 'debug';
      text = `Output truncated: this job produced more than ${maxBytes} bytes of output; the rest was dropped`;
    } else if (type !== 'debug') {
      bytes += size;
    }
    // Hosts send 1-second timestamps: a microsecond step keeps the order they arrived in.
    lastUs = Math.max(o.atUs ?? now * 1000, lastUs + 1);
    rows.push({ seq: seq++, type, text, atUs: lastUs });
  }
  return { rows, progress: { seq, lastUs, bytes, truncated } };
}

/** A host's updates split into output, in order, and the exit if one came. */
export function splitUpdates(updates: readonly import('./job-store.js').HostUpdate[]): { outputs: PendingOutput[]; exit?: { code: number; atUs?: number } } {
  const outputs: PendingOutput[] = [];
  let exit: { code: number; atUs?: number } | undefined;
  for (const u of updates) {
    if (u.kind === 'output') outputs.push({ type: u.stream, text: u.content, atUs: u.atUs });
    else exit = u;
  }
  return exit ? { outputs, exit } : { outputs };
}
