// No import cycles in src/, type-only imports included: dependency-cruiser with the project's
// rule (.dependency-cruiser.json). A fixture with a deliberate cycle shows the check catches one.
import { describe, it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const DEPCRUISE = resolve('node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

function cruise(dir: string): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [DEPCRUISE, dir, '--config', '.dependency-cruiser.json', '--output-type', 'err'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('import cycles', () => {
  it('src/ has none', () => {
    const r = cruise('src');
    expect(r.out).not.toContain('no-circular');
    expect(r.status).toBe(0);
  });

  it('the check fails on a cycle', () => {
    const r = cruise('test/fixtures/import-cycle');
    expect(r.status).not.toBe(0);
    expect(r.out).toMatch(/no-circular: test\/fixtures\/import-cycle\/(left|right)\.ts/);
  });
});
