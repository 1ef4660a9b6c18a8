// Validation of /dynflow launch bodies (docs/protocol/rex-pull.md §1.2, §1.3). A launch is
// checked whole before anything is stored, and a refusal names the offending field, so Foreman's "Failed to trigger
// task on the smart proxy: …" says what was wrong.

export const RUN_SCRIPT = 'Proxy::RemoteExecution::Ssh::Actions::RunScript';
/** smart_proxy_dynflow registers 'single', REX registers 'ssh' (the batch launcher), in that order. */
export const OPERATIONS = ['single', 'ssh'] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Task ids become URL path segments and SQL keys: Foreman sends UUIDs. */
const TASK_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
/** Not in a topic segment: level separator and wildcards (MQTT 3.1.1 §4.7). */
const TOPIC_UNSAFE = /[/+#\u0000]/;
/** Left out of the input echoed by status answers: large, or secret. */
const NOT_ECHOED = new Set(['script', 'secrets', 'callback']);

export interface LaunchLimits {
  maxScriptBytes: number;
  /** Seconds, when the input has none. */
  timeToPickup: number;
  /** Seconds or null, when the input has none. */
  executionTimeout: number | null;
  /** Overrides the input's proxy_url as the base of job URLs. */
  proxyUrl?: string;
}

export interface ValidJob {
  host: string;
  callback: { task_id: string; step_id: unknown } | null;
  input: Record<string, unknown>;
  script: string;
  effectiveUser: string | null;
  baseUrl: string;
  timeToPickup: number;
  executionTimeout: number | null;
}

export type LaunchRequest =
  | { operation: 'ssh'; children: { taskId: string; job: ValidJob }[] }
  | { operation: 'single'; job: ValidJob };

export interface Refusal {
  status: number;
  error: string;
}

export function isRefusal(x: unknown): x is Refusal {
  return typeof x === 'object' && x !== null && 'error' in x && 'status' in x;
}

type Mapping = Record<string, unknown>;

function mapping(value: unknown): Mapping | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Mapping) : undefined;
}

function parseJson(body: Buffer): Mapping | Refusal {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch (err) {
    return { status: 400, error: `request body is not valid JSON: ${(err as Error).message}` };
  }
  return mapping(parsed) ?? { status: 400, error: 'request body must be a JSON object' };
}

/** POST /dynflow/tasks/launch */
export function parseLaunch(body: Buffer, limits: LaunchLimits): LaunchRequest | Refusal {
  const doc = parseJson(body);
  if (isRefusal(doc)) return doc;
  const operation = doc.operation;
  if (typeof operation !== 'string' || operation === '') return { status: 400, error: "'operation' is required (a string)" };
  // smart_proxy_dynflow's own answer and status for an operation it does not know.
  if (!(OPERATIONS as readonly string[]).includes(operation)) return { status: 404, error: `Unknown operation '${operation}' requested.` };
  if (doc.options !== undefined && doc.options !== null && !mapping(doc.options)) return { status: 400, error: "'options' must be an object" };
  const input = mapping(doc.input);
  if (!input) return { status: 400, error: "'input' must be an object" };

  if (operation === 'single') {
    const job = parseAction(input.action_class, input.action_input, 'input', limits);
    return isRefusal(job) ? job : { operation: 'single', job };
  }
  const ids = Object.keys(input);
  if (ids.length === 0) return { status: 422, error: "'input' names no task: a batch needs at least one" };
  const children: { taskId: string; job: ValidJob }[] = [];
  for (const id of ids) {
    if (!TASK_ID.test(id)) return { status: 400, error: `input key '${truncate(id)}' is not a task id (letters, digits, '.', '_', ':', '-'; at most 128)` };
    const entry = mapping(input[id]);
    if (!entry) return { status: 400, error: `input['${id}'] must be an object` };
    const job = parseAction(entry.action_class, entry.action_input, `input['${id}']`, limits);
    if (isRefusal(job)) return job;
    children.push({ taskId: id, job });
  }
  return { operation: 'ssh', children };
}

/** POST /dynflow/tasks (legacy trigger): {"action_name","action_input"}. */
export function parseTrigger(body: Buffer, limits: LaunchLimits): ValidJob | Refusal {
  const doc = parseJson(body);
  if (isRefusal(doc)) return doc;
  return parseAction(doc.action_name, doc.action_input, 'request', limits, 'action_name');
}

function parseAction(actionClass: unknown, actionInput: unknown, at: string, limits: LaunchLimits, classKey = 'action_class'): ValidJob | Refusal {
  if (typeof actionClass !== 'string' || actionClass === '') return { status: 400, error: `${at}.${classKey} is required (a string)` };
  if (actionClass !== RUN_SCRIPT) {
    return { status: 422, error: `${at}.${classKey}: unknown action class '${truncate(actionClass)}' (proxy-proxy runs ${RUN_SCRIPT} only)` };
  }
  const input = mapping(actionInput);
  if (!input) return { status: 400, error: `${at}.action_input must be an object` };
  const where = `${at}.action_input`;

  if (typeof input.script !== 'string') return { status: 400, error: `${where}.script is required (a string)` };
  // PullScript strips carriage returns before storing the script.
  const script = input.script.replace(/\r/g, '');
  const size = Buffer.byteLength(script, 'utf8');
  if (size > limits.maxScriptBytes) {
    return { status: 413, error: `${where}.script is ${size} bytes, more than rex.max_script_bytes (${limits.maxScriptBytes})` };
  }

  const host = hostIdentity(input, where);
  if (isRefusal(host)) return host;

  let callback: ValidJob['callback'] = null;
  if (input.callback !== undefined && input.callback !== null) {
    const cb = mapping(input.callback);
    if (!cb || typeof cb.task_id !== 'string' || cb.task_id === '') return { status: 400, error: `${where}.callback must be {"task_id": <string>, "step_id": …}` };
    callback = { task_id: cb.task_id, step_id: cb.step_id ?? null };
  }

  const user = input.effective_user;
  if (user !== undefined && user !== null && typeof user !== 'string') return { status: 400, error: `${where}.effective_user must be a string or null` };

  const pickup = seconds(input.time_to_pickup, `${where}.time_to_pickup`);
  if (isRefusal(pickup)) return pickup;
  const timeout = seconds(input.execution_timeout_interval, `${where}.execution_timeout_interval`);
  if (isRefusal(timeout)) return timeout;

  const base = baseUrl(input.proxy_url, where, limits.proxyUrl);
  if (isRefusal(base)) return base;

  const echoed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) if (!NOT_ECHOED.has(key)) echoed[key] = value;
  return {
    host,
    callback,
    input: echoed,
    script,
    effectiveUser: user === undefined || user === null || user === '' ? null : user,
    baseUrl: base,
    timeToPickup: pickup ?? limits.timeToPickup,
    executionTimeout: timeout === undefined ? limits.executionTimeout : timeout,
  };
}

/** consumer_uuid ‖ fqdn ‖ hostname (REX pull_script.rb host_name): the topic segment and the CN. */
function hostIdentity(input: Mapping, where: string): string | Refusal {
  const alt = mapping(input.alternative_names) ?? {};
  const candidates = [alt.consumer_uuid, alt.fqdn, input.hostname];
  const host = candidates.find((c): c is string => typeof c === 'string' && c !== '');
  if (!host) return { status: 422, error: `${where} names no host: alternative_names.consumer_uuid, alternative_names.fqdn or hostname is required` };
  if (TOPIC_UNSAFE.test(host) || Buffer.byteLength(host) > 255) {
    return { status: 422, error: `${where}: host '${truncate(host)}' cannot be an MQTT topic segment` };
  }
  return host;
}

/** Seconds as Foreman sends them: a number, a numeric string, or null/absent (undefined). */
function seconds(value: unknown, where: string): number | null | undefined | Refusal {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n < 0) return { status: 400, error: `${where} must be a number of seconds` };
  // 0 means "none" for Foreman's timeouts.
  return n === 0 ? null : n;
}

function baseUrl(value: unknown, where: string, configured: string | undefined): string | Refusal {
  if (configured !== undefined) return configured;
  if (typeof value !== 'string' || value === '') {
    return { status: 422, error: `${where}.proxy_url is required (the URL hosts fetch jobs from), unless rex.proxy_url is configured` };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { status: 400, error: `${where}.proxy_url is not a URL` };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { status: 400, error: `${where}.proxy_url must be an http(s) URL` };
  return value.replace(/\/+$/, '');
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
