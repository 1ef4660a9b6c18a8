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

const verdictRow = (v: Verdict): (string | number)[] => [v.target, v.measured, v.goal, `**${verdictWord(v)}**`];

function renderSection(s: SectionResult, extraNotes: string[] = []): string {
  const notes = [...s.notes, ...extraNotes];
  return [`### ${s.title}`, '', s.table, ...(notes.length ? ['', ...notes.map((n) => `- ${n}`)] : [])].join('\n');
}

export function renderResults(machine: MachineInfo, mode: string, sections: SectionResult[], failures: string[]): string {
  const verdicts = sections.flatMap((s) => s.verdicts);
  const parts = [
    `Machine: ${machineLine(machine)}. Mode: ${mode}.`,
    '',
    '### Verdicts',
    '',
    markdownTable(['target', 'measured', 'goal', 'verdict'], verdicts.map(verdictRow)),
  ];
  for (const f of failures) parts.push('', `Section failed: ${f}`);
  for (const s of sections) parts.push('', renderSection(s));
  return parts.join('\n');
}

function block(file: string): { text: string; b: number; e: number } {
  const text = readFileSync(file, 'utf8');
  const b = text.indexOf(BEGIN);
  const e = text.indexOf(END);
  if (b < 0 || e < b) throw new Error(`${file} has no ${BEGIN} … ${END} block`);
  return { text, b, e };
}

/** Replaces the results block of BENCHMARKS.md, keeping the prose around it. */
export function writeResults(file: string, results: string): void {
  const { text, b, e } = block(file);
  writeFileSync(file, `${text.slice(0, b + BEGIN.length)}\n${results}\n${text.slice(e)}`);
}

/**
 * Merges a run of some sections into the results block: their `### title` parts are replaced
 * (or appended), each with a note of when and where it ran, and their verdict rows replaced
 * (same target) or appended. The rest of the block, machine line included, stays.
 */
export function mergeResults(block: string, machine: MachineInfo, mode: string, sections: SectionResult[]): string {
  // Parts start at "### " headings; part 0 is the machine line.
  const parts = block.split(/\n(?=### )/);
  const titleOf = (part: string) => part.slice(4, part.indexOf('\n') < 0 ? undefined : part.indexOf('\n')).trim();
  const vi = parts.findIndex((p) => titleOf(p) === 'Verdicts');
  if (vi < 0) throw new Error('the results block has no ### Verdicts table');
  const lines = parts[vi]!.split('\n');
  for (const v of sections.flatMap((s) => s.verdicts)) {
    const row = `| ${verdictRow(v).join(' | ')} |`;
    const at = lines.findIndex((l) => l.startsWith(`| ${v.target} |`));
    if (at >= 0) lines[at] = row;
    else {
      let last = lines.length - 1;
      while (last > 0 && !lines[last]!.startsWith('|')) last--;
      lines.splice(last + 1, 0, row);
    }
  }
  parts[vi] = lines.join('\n');
  for (const s of sections) {
    const rendered = renderSection(s, [`Run on its own (\`--only ${s.name}\`): ${machineLine(machine)}. Mode: ${mode}.`]);
    const at = parts.findIndex((p) => titleOf(p) === s.title);
    if (at >= 0) parts[at] = `${rendered}\n`;
    else {
      parts[parts.length - 1] = parts[parts.length - 1]!.replace(/\n*$/, '\n');
      parts.push(rendered);
    }
  }
  return parts.join('\n').replace(/\n+$/, '');
}

/** mergeResults on the block of BENCHMARKS.md. */
export function writeSectionResults(file: string, machine: MachineInfo, mode: string, sections: SectionResult[]): void {
  const { text, b, e } = block(file);
  const merged = mergeResults(text.slice(b + BEGIN.length, e).trim(), machine, mode, sections);
  writeFileSync(file, `${text.slice(0, b + BEGIN.length)}\n${merged}\n${text.slice(e)}`);
}
