// `npm run bench -- --only X --write`: only X's part of the results block and its verdict rows
// change; the other sections, their verdicts and the machine line stay.
import { describe, expect, it } from '@jest/globals';
import type { MachineInfo } from '../../bench/machine.js';
import { mergeResults, renderResults } from '../../bench/report.js';
import type { SectionResult } from '../../bench/types.js';

const machine = (date: string): MachineInfo => ({ cpu: 'CPU', cores: 2, memoryGiB: 4, kernel: 'k', node: 'v20', date, load: '1 → 1' });

const section = (name: string, title: string, measured: string, pass: boolean): SectionResult => ({
  name,
  title,
  table: `| a |\n| --- |\n| ${measured} |`,
  notes: [`${name} note`],
  verdicts: [{ target: `${name} target`, measured, goal: '≤ 1', pass }],
  data: {},
});

describe('merging one section into the results block', () => {
  const full = renderResults(machine('day 1'), 'full', [section('one', 'One', '1', true), section('two', 'Two', '2', false)], []);

  it('appends a new section and its verdicts, then replaces them on the next run', () => {
    const first = mergeResults(full, machine('day 2'), 'full', [section('three', 'Three', '3', false)]);
    expect(first.startsWith('Machine: day 1')).toBe(true);
    expect(first).toContain('| one target | 1 | ≤ 1 | **MET** |\n| two target | 2 | ≤ 1 | **MISSED** |\n| three target | 3 | ≤ 1 | **MISSED** |\n');
    expect(first).toContain('### Two\n\n| a |\n| --- |\n| 2 |\n\n- two note\n\n### Three\n\n| a |\n| --- |\n| 3 |\n\n- three note\n- Run on its own (`--only three`): day 2');

    const second = mergeResults(first, machine('day 3'), 'full', [section('three', 'Three', '0.5', true)]);
    expect(second.match(/three target/g)).toHaveLength(1);
    expect(second).toContain('| three target | 0.5 | ≤ 1 | **MET** |');
    expect(second).not.toContain('day 2');
    expect(second).toContain('- two note\n\n### Three\n\n| a |\n| --- |\n| 0.5 |\n\n- three note\n- Run on its own (`--only three`): day 3');
    expect(second.endsWith('Mode: full.')).toBe(true);
  });

  it('replaces a section in the middle, keeping the ones around it', () => {
    const merged = mergeResults(full, machine('day 2'), 'full', [section('one', 'One', '0.1', true)]);
    expect(merged).toContain('| one target | 0.1 | ≤ 1 | **MET** |\n| two target |');
    expect(merged).toContain('### One\n\n| a |\n| --- |\n| 0.1 |\n\n- one note\n- Run on its own (`--only one`): day 2');
    expect(merged).toContain('\n\n### Two\n\n| a |\n| --- |\n| 2 |\n\n- two note');
  });
});
