// The exchanges recorded from a real smart proxy 3.11 (test/fixtures/recorded/, format in its
// README.md), kept in the repository so the suite runs from a clone alone.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const RECORDED_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'recorded', 'smart-proxy.jsonl');

export function recordedLines(): unknown[] {
  return readFileSync(RECORDED_FILE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown);
}
