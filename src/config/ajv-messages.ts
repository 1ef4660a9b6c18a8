// Turns Ajv's errors into sentences an administrator can act on, each at the path of the
// thing it is about (a missing key's would-be path, an unknown key's own path).
import type { ErrorObject } from 'ajv';
import { FORMAT_MESSAGES, PATTERN_MESSAGES } from './schema.js';
import { unknownKeyMessage } from './unknown-key.js';
import type { FoundProblem, PathSegment } from './problems.js';

/** `data` is the validated document, used to tell list indices from mapping keys. */
export function describeSchemaErrors(errors: readonly ErrorObject[], data: unknown): FoundProblem[] {
  const { shown, branches } = withoutAlternatives(errors);
  const problems: FoundProblem[] = [];
  const dependents = new Map<string, { path: PathSegment[]; missing: string[] }>();

  for (const error of shown) {
    const at = pointerToPath(error.instancePath, data);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case 'propertyNames':
        break; // the failing name's own error (carrying `propertyName`) says what is wrong
      case 'dependentRequired': {
        // Ajv reports each missing key separately; one line per triggering key reads better.
        const property = String(params.property);
        const key = `${error.instancePath}/${property}`;
        const entry = dependents.get(key) ?? { path: [...at, property], missing: [] };
        entry.missing.push(String(params.missingProperty));
        dependents.set(key, entry);
        break;
      }
      case 'uniqueItems':
        problems.push(...duplicates(at, error.data));
        break;
      default:
        if (error.propertyName !== undefined) {
          problems.push({ path: [...at, error.propertyName], message: `invalid name: ${describe(error, at, branches)}` });
        } else {
          problems.push({ path: pathOf(error, at), message: describe(error, at, branches) });
        }
    }
  }
  for (const { path, missing } of dependents.values()) {
    problems.push({ path, message: `requires ${listWords(missing.map((m) => `'${m}'`))} to be set as well` });
  }
  return problems;
}

/** Where the problem is: a missing or unknown key is reported at its own path. */
function pathOf(error: ErrorObject, at: PathSegment[]): PathSegment[] {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') return [...at, String(params.missingProperty)];
  if (error.keyword === 'additionalProperties') return [...at, String(params.additionalProperty)];
  return at;
}

function describe(error: ErrorObject, at: PathSegment[], branches: Branches): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return `missing required key '${String(params.missingProperty)}'`;
    case 'additionalProperties': {
      const known = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      return unknownKeyMessage(at, String(params.additionalProperty), known);
    }
    case 'type':
      return `must be ${listWords(String(params.type).split(',').map(typeWord), 'or')}`;
    case 'enum':
      return `must be one of ${enumWords(params.allowedValues as unknown[])}`;
    case 'minimum':
      return `must be at least ${String(params.limit)}`;
    case 'maximum':
      return `must be at most ${String(params.limit)}`;
    case 'exclusiveMinimum':
      return `must be more than ${String(params.limit)}`;
    case 'exclusiveMaximum':
      return `must be less than ${String(params.limit)}`;
    case 'minLength':
      return params.limit === 1 ? 'must not be empty' : `must be at least ${String(params.limit)} characters long`;
    case 'minItems':
      return params.limit === 1 ? 'must not be an empty list' : `must list at least ${String(params.limit)} items`;
    case 'pattern':
      return PATTERN_MESSAGES[String(params.pattern)] ?? `must match the pattern ${String(params.pattern)}`;
    case 'format': {
      const message = FORMAT_MESSAGES[String(params.format)];
      if (typeof message === 'function') return message(String(error.data));
      return message ?? `must be a valid ${String(params.format)}`;
    }
    case 'anyOf':
      return alternativesMessage(branches.get(error) ?? []);
    default:
      return error.message ?? 'is not valid';
  }
}

type Branches = Map<ErrorObject, ErrorObject[]>;

/**
 * Drops the per-branch errors of a failed anyOf/oneOf: only the anyOf itself is reported, with
 * its branches kept aside so the message can name what would have satisfied it.
 */
function withoutAlternatives(errors: readonly ErrorObject[]): { shown: ErrorObject[]; branches: Branches } {
  const alternatives = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const branches: Branches = new Map();
  const shown = errors.filter((error) => {
    const owner = alternatives.find((alt) => alt !== error && error.schemaPath.startsWith(`${alt.schemaPath}/`));
    if (!owner) return true;
    branches.set(owner, [...(branches.get(owner) ?? []), error]);
    return false;
  });
  return { shown, branches };
}

function alternativesMessage(branches: ErrorObject[]): string {
  if (branches.length > 0 && branches.every((b) => b.keyword === 'required')) {
    const keys = branches.map((b) => `'${String((b.params as Record<string, unknown>).missingProperty)}'`);
    return `needs at least one of ${listWords(keys, 'or')}`;
  }
  return 'does not match any of the allowed forms';
}

/** Every item that repeats an earlier one, at its own index. */
function duplicates(at: PathSegment[], list: unknown): FoundProblem[] {
  if (!Array.isArray(list)) return [];
  const firstSeen = new Map<string, number>();
  const found: FoundProblem[] = [];
  list.forEach((item, index) => {
    const key = JSON.stringify(item);
    const first = firstSeen.get(key);
    if (first === undefined) firstSeen.set(key, index);
    else found.push({ path: [...at, index], message: `${valueWord(item)} is listed twice (also at [${first}])` });
  });
  return found;
}

function typeWord(type: string): string {
  const words: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    null: 'empty',
  };
  return words[type] ?? type;
}

/** `['DEBUG', 'debug']` is one choice to a reader; show each value once. */
function enumWords(values: unknown[]): string {
  const seen = new Set<string>();
  const shown: string[] = [];
  for (const value of values) {
    const word = String(value);
    if (seen.has(word.toLowerCase())) continue;
    seen.add(word.toLowerCase());
    shown.push(word);
  }
  return shown.join(', ');
}

function valueWord(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function listWords(words: string[], joiner = 'and'): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} ${joiner} ${words[words.length - 1]}`;
}

/** JSON pointer → path; a segment inside a list becomes a number, so it prints as `[1]`. */
function pointerToPath(pointer: string, data: unknown): PathSegment[] {
  if (pointer === '') return [];
  const path: PathSegment[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path.push(Number(part));
      node = node[Number(part)];
    } else {
      path.push(part);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
    }
  }
  return path;
}
