// Test helper: the formatted problems parseConfig reports for a YAML text.
import { ConfigError, formatProblem, parseConfig } from '../../src/config/load.js';

export function problemsOf(text: string): string[] {
  try {
    parseConfig(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

/** Lines joined with '\n', so tests read like the file they describe. */
export function yaml(...lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
