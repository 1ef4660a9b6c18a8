// How a configuration mistake is reported: the YAML path in dotted form, a message in words,
// and the line in the file, so an administrator can go straight to it.

export type PathSegment = string | number;

export interface ConfigProblem {
  /** Dotted YAML path, e.g. `features.dhcp.backends[1]`; `(top level)` for the document itself. */
  path: string;
  message: string;
  /** 1-based line of the node (for a missing key: of its parent). */
  line?: number;
}

export const TOP_LEVEL = '(top level)';
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['features', 'dhcp', 'backends', 1]` → `features.dhcp.backends[1]`; odd keys are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  if (path.length === 0) return TOP_LEVEL;
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function formatProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? '' : ` (line ${problem.line})`;
  return `${problem.path}: ${problem.message}${where}`;
}

/** Thrown when a configuration is refused; it carries every problem found, not just the first. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  /** The file the configuration came from, when there was one. */
  readonly source?: string;

  constructor(problems: ConfigProblem[], source?: string) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
    this.source = source;
  }
}

/** A problem before it is placed in the file: the path is still structured. */
export interface FoundProblem {
  path: PathSegment[];
  message: string;
}
