// Reading proxy-proxy.yaml: YAML → schema (with defaults) → cross-field rules → Config.
// Every problem is collected before anything is refused, and a Config is only returned when
// there are none, so start-up and SIGHUP never act on a half-valid file.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, stringify, visit, type Document, type YAMLError } from 'yaml';
import { describeSchemaErrors } from './ajv-messages.js';
import { buildConfig } from './build.js';
import { crossCheck } from './cross-checks.js';
import { ConfigError, formatPath, TOP_LEVEL, type ConfigProblem, type FoundProblem } from './problems.js';
import { schemaErrors } from './validator.js';
import { YamlPositions } from './yaml-positions.js';
import type { Config } from './types.js';

export { ConfigError, formatProblem, type ConfigProblem } from './problems.js';

export { DEFAULT_CONFIG_FILE } from './default-file.js';

/** Reads and validates `file`; throws ConfigError (also when it cannot be read). */
export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([{ path: TOP_LEVEL, message: `cannot read ${file}: ${(error as Error).message}` }], file);
  }
  return parseConfig(text, file);
}

/** Validates YAML text; `source` names where it came from (kept in Config.source). */
export function parseConfig(text: string, source?: string): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map(syntaxProblem), source);
  if (doc.contents === null) {
    throw new ConfigError(
      [{ path: TOP_LEVEL, message: 'the file is empty: it needs at least a listener port, backends and features' }],
      source,
    );
  }

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // Only a dangling alias (`*name` with no `&name` before it) gets here; say where it is.
    const line = danglingAliasLine(doc, lineCounter);
    throw new ConfigError([{ path: '(yaml)', message: (error as Error).message, line }], source);
  }
  defaultNullFeatures(data);

  // The schema writes defaults into `data`; some rules need to know what was actually written.
  const given: unknown = structuredClone(data);
  const found = [...describeSchemaErrors(schemaErrors(data), data), ...crossCheck(data, given)];
  if (found.length > 0) {
    throw new ConfigError(placeProblems(found, new YamlPositions(doc, lineCounter)), source);
  }
  return buildConfig(data, source);
}

/** Builds a Config from a plain object as if it had been read from a file (tests, demo mode). */
export function configFromObject(object: unknown, source?: string): Config {
  return parseConfig(stringify(object), source);
}

function syntaxProblem(error: YAMLError): ConfigProblem {
  // The parser's message ends with its own position and a source excerpt; we give the line.
  const message =
    error.code === 'MULTIPLE_DOCS'
      ? "the file must hold a single YAML document (found another '---')"
      : error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return { path: '(yaml)', message, line: error.linePos?.[0].line };
}

function danglingAliasLine(doc: Document, lineCounter: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_, alias) {
      if (alias.resolve(doc) !== undefined || !alias.range) return undefined;
      line = lineCounter.linePos(alias.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

/** `tftp:` with nothing after it means "all defaults", as `{}` does (the schema fills those in). */
function defaultNullFeatures(data: unknown): void {
  const features = (data as { features?: unknown } | null)?.features;
  if (features === null || typeof features !== 'object' || Array.isArray(features)) return;
  for (const [name, value] of Object.entries(features)) {
    if (value === null) (features as Record<string, unknown>)[name] = {};
  }
}

/** Adds lines, drops repeats, and orders the problems as they appear in the file. */
function placeProblems(found: FoundProblem[], positions: YamlPositions): ConfigProblem[] {
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const { path, message } of found) {
    const problem: ConfigProblem = { path: formatPath(path), message, line: positions.lineOf(path) };
    const key = `${problem.path}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => (a.problem.line ?? 0) - (b.problem.line ?? 0) || a.index - b.index)
    .map(({ problem }) => problem);
}
