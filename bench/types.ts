// What every section hands back: a markdown table, notes, and one verdict per target.

export interface BenchOptions {
  quick: boolean;
  only: Set<string> | undefined;
  /** Compare with HAProxy (installed when missing, if installing is allowed). */
  haproxy: boolean;
  /** May the bench apt-get install wrk, haproxy and mosquitto? */
  install: boolean;
  /** Fleet sizes of the rex-scale section, when not the defaults. */
  rexHosts?: number[];
  /** State drivers of rex-scale's in-process run at the largest size (default both). */
  rexState?: ('sqlite' | 'postgresql')[];
  /** One more rex-scale run at the largest size under --cpu-prof. */
  rexProfile?: boolean;
  /** Length of the soak section, minutes. */
  soakMinutes?: number;
  log: (line: string) => void;
}

export interface Verdict {
  target: string;
  measured: string;
  goal: string;
  /** undefined: could not be measured in this run */
  pass: boolean | undefined;
}

export interface SectionResult {
  name: string;
  title: string;
  table: string;
  notes: string[];
  verdicts: Verdict[];
  /** Raw numbers, for --json and the CI smoke test. */
  data: Record<string, unknown>;
}

export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.map(String).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
