// Turns section results into the markdown that is printed and kept in BENCHMARKS.md.
import { readFileSync, writeFileSync } from 'node:fs';
import type { MachineInfo } from './machine.js';
import { markdownTable, type SectionResult, type Verdict } from './types.js';

export const BEGIN = '<!-- bench:results:begin -->';
export const END = '<!-- bench:results:end -->';

export function verdictWord(v: Verdict): string {
  return v.pass === undefined ? 'NOT RUN' : v.pass ? 'MET' : 'MISSED';
}

export function verdictLine(v: Verdict): string {
  return `${verdictWord(v).padEnd(7)} ${v.target}: ${v.measured} (target ${v.goal})`;
}

export function machineLine(m: MachineInfo): string {
  const tools = [m.haproxy, m.wrk].filter(Boolean).join('; ');
  return `${m.date} — ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}${tools ? `; ${tools}` : ''}; load average ${m.load}`;
}

export function renderResults(machine: MachineInfo, mode: string, sections: SectionResult[], failures: string[]): string {
  const verdicts = sections.flatMap((s) => s.verdicts);
  const parts = [
    `Machine: ${machineLine(machine)}. Mode: ${mode}.`,
    '',
    '### Verdicts',
    '',
    markdownTable(['target', 'measured', 'goal', 'verdict'], verdicts.map((v) => [v.target, v.measured, v.goal, `**${verdictWord(v)}**`])),
  ];
  for (const f of failures) parts.push('', `Section failed: ${f}`);
  for (const s of sections) {
    parts.push('', `### ${s.title}`, '', s.table);
    if (s.notes.length) parts.push('', ...s.notes.map((n) => `- ${n}`));
  }
  return parts.join('\n');
}

/** Replaces the results block of BENCHMARKS.md, keeping the prose around it. */
export function writeResults(file: string, results: string): void {
  const text = readFileSync(file, 'utf8');
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b < 0 || e < b) throw new Error(`${file} has no ${BEGIN} … ${END} block`);
  writeFileSync(file, `${text.slice(0, b + BEGIN.length)}\n${results}\n${text.slice(e)}`);
}
