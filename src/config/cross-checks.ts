// Rules that relate one part of the file to another, which a JSON schema cannot say well.
// They run on the same data as the schema (defaults filled in) and even when the schema found
// problems, so an administrator sees everything in one pass; hence every read is guarded.
// Rules about what the administrator wrote (not what the defaults made of it) read `given`,
// the document as it was before the schema filled in defaults.
import { featureByName } from '../features/index.js';
import { closestName } from './closest-name.js';
import type { FoundProblem } from './problems.js';

type Mapping = Record<string, unknown>;

function mapping(value: unknown): Mapping | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Mapping) : undefined;
}

export function crossCheck(data: unknown, given: unknown): FoundProblem[] {
  const root = mapping(data);
  if (!root) return [];
  return [...checkListeners(root), ...checkFeatures(root, mapping(given)), ...checkTimers(root), ...checkRex(root), ...checkRelays(root), ...checkState(root)];
}

function checkListeners(root: Mapping): FoundProblem[] {
  // Port 0 means "any free port", so two zeros do not clash.
  if (typeof root.http_port === 'number' && root.http_port > 0 && root.http_port === root.https_port) {
    return [{ path: ['https_port'], message: `must differ from http_port (${String(root.http_port)})` }];
  }
  return [];
}

function checkFeatures(root: Mapping, givenRoot: Mapping | undefined): FoundProblem[] {
  const features = mapping(root.features);
  if (!features) return [];
  const backendMap = mapping(root.backends);
  const backendNames = backendMap ? Object.keys(backendMap) : [];
  const problems: FoundProblem[] = [];
  const needBackends: string[] = [];

  for (const [name, value] of Object.entries(features)) {
    const feature = mapping(value);
    const module = featureByName(name);
    if (!feature || !module) continue;
    const at = ['features', name];

    for (const listener of ['http', 'https'] as const) {
      if (feature.enabled === listener && root[`${listener}_port`] === undefined) {
        problems.push({ path: [...at, 'enabled'], message: `is '${listener}' but ${listener}_port is not set` });
      }
    }
    // Answered here, or forwarded by a service that picks its own backend: no policy to check.
    if (module.localOnly || module.forwards) continue;
    if (feature.enabled !== false && feature.backends === undefined) needBackends.push(name);

    if (feature.order === 'round_robin' && feature.policy !== 'failover') {
      problems.push({
        path: [...at, 'order'],
        message: `round_robin only applies to policy failover (this feature's policy is ${String(feature.policy)})`,
      });
    }
    problems.push(...checkReplicateOnly(name, feature, mapping(mapping(givenRoot?.features)?.[name])));
    const count = Array.isArray(feature.backends) ? new Set(feature.backends).size : backendMap ? backendNames.length : 0;
    // With no backends at all, the missing backends are the problem to report, not the count.
    if (feature.policy === 'replicate' && typeof feature.min_success === 'number' && count > 0 && feature.min_success > count) {
      problems.push({ path: [...at, 'min_success'], message: `must be at most the number of this feature's backends (${count})` });
    }
    if (Array.isArray(feature.backends) && backendMap) {
      feature.backends.forEach((backend: unknown, index) => {
        if (typeof backend !== 'string' || backendNames.includes(backend)) return;
        const guess = closestName(backend, backendNames);
        const hint = guess ? `did you mean '${guess}'?` : `configured: ${backendNames.join(', ') || 'none'}`;
        problems.push({ path: [...at, 'backends', index], message: `unknown backend '${backend}' (${hint})` });
      });
    }
  }

  // Features without their own list use every backend, so there has to be at least one.
  if (needBackends.length > 0 && backendMap && backendNames.length === 0) {
    problems.push({
      path: ['backends'],
      message: `at least one backend is needed: ${needBackends.join(', ')} ${needBackends.length === 1 ? 'forwards' : 'forward'} requests to backends`,
    });
  }
  return problems;
}

/** Keys that only mean something to a replicated feature, refused wherever they are set on another. */
function checkReplicateOnly(name: string, feature: Mapping, given: Mapping | undefined): FoundProblem[] {
  // An invalid policy is the schema's to report; guessing what was meant would only add noise.
  if (feature.policy !== 'failover' && feature.policy !== 'primary') return [];
  return (['on_backend_down', 'min_success'] as const)
    .filter((key) => given?.[key] !== undefined)
    .map((key) => ({
      path: ['features', name, key],
      message: `only applies to policy replicate (this feature's policy is ${String(feature.policy)})`,
    }));
}

function checkTimers(root: Mapping): FoundProblem[] {
  const problems: FoundProblem[] = [];
  const ejection = mapping(root.passive_ejection);
  if (ejection && typeof ejection.base_ejection_ms === 'number' && typeof ejection.max_ejection_ms === 'number') {
    if (ejection.max_ejection_ms < ejection.base_ejection_ms) {
      problems.push({
        path: ['passive_ejection', 'max_ejection_ms'],
        message: `must be at least base_ejection_ms (${ejection.base_ejection_ms})`,
      });
    }
  }
  const retry = mapping(root.compensation_retry);
  if (retry && typeof retry.base_ms === 'number' && typeof retry.max_ms === 'number' && retry.max_ms < retry.base_ms) {
    problems.push({ path: ['compensation_retry', 'max_ms'], message: `must be at least base_ms (${retry.base_ms})` });
  }
  return problems;
}

function checkRex(root: Mapping): FoundProblem[] {
  const rex = mapping(root.rex);
  if (!rex) return [];
  const problems: FoundProblem[] = [];
  const hosted = rex.enabled === true && rex.mode !== 'forward';
  if (hosted && root.foreman_url === undefined) {
    problems.push({ path: ['rex', 'enabled'], message: 'needs foreman_url: results of remote-execution jobs are posted to Foreman' });
  }
  if (hosted && mapping(root.features)?.script !== undefined) {
    problems.push({
      path: ['features', 'script'],
      message: 'is hosted by the pull-mqtt spool (rex.enabled); set rex.mode: forward to send Script jobs to backends instead, never both',
    });
  }
  const openscap = mapping(root.features)?.openscap;
  if (openscap !== undefined && mapping(openscap)?.enabled !== false && root.foreman_url === undefined) {
    problems.push({ path: ['features', 'openscap'], message: 'needs foreman_url: hosts\' reports are posted to Foreman by proxy-proxy' });
  }
  const retry = mapping(mapping(rex.callback)?.retry);
  if (retry && typeof retry.base_ms === 'number' && typeof retry.max_ms === 'number' && retry.max_ms < retry.base_ms) {
    problems.push({ path: ['rex', 'callback', 'retry', 'max_ms'], message: `must be at least base_ms (${retry.base_ms})` });
  }
  const mqtt = mapping(rex.mqtt);
  if (hosted && mqtt?.broker === 'embedded' && typeof mqtt.embedded_port === 'number' && mqtt.embedded_port > 0) {
    for (const listener of ['http_port', 'https_port'] as const) {
      if (root[listener] === mqtt.embedded_port) {
        problems.push({ path: ['rex', 'mqtt', 'embedded_port'], message: `must differ from ${listener} (${mqtt.embedded_port})` });
      }
    }
  }
  return problems;
}

/** An exposed URL setting the relays send to Foreman as `url` (smart-proxy `url` validator). */
function urlProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be an http:// or https:// URL';
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'must be an http:// or https:// URL';
  } catch {
    return 'must be an http:// or https:// URL';
  }
}

/** Templates and registration are relayed to Foreman by proxy-proxy itself, as the smart proxy does. */
function checkRelays(root: Mapping): FoundProblem[] {
  const features = mapping(root.features);
  if (!features) return [];
  const problems: FoundProblem[] = [];
  const offered = (name: string) => name in features && mapping(features[name])?.enabled !== false;
  for (const name of ['templates', 'registration']) {
    if (offered(name) && root.foreman_url === undefined) {
      problems.push({ path: ['features', name], message: `needs foreman_url: proxy-proxy relays ${name} requests to Foreman itself` });
    }
  }
  const templateUrl = mapping(mapping(features.templates)?.settings)?.template_url;
  if (offered('templates')) {
    if (templateUrl === undefined || templateUrl === null || templateUrl === '') {
      problems.push({
        path: ['features', 'templates', 'settings'],
        message: 'needs template_url: the URL hosts fetch templates from (proxy-proxy\'s VIP or name), passed to Foreman with every template request',
      });
    } else {
      const problem = urlProblem(templateUrl);
      if (problem) problems.push({ path: ['features', 'templates', 'settings', 'template_url'], message: problem });
    }
  }
  const registrationUrl = mapping(mapping(features.registration)?.settings)?.registration_url;
  if (offered('registration') && registrationUrl !== undefined && registrationUrl !== null) {
    const problem = urlProblem(registrationUrl);
    if (problem) problems.push({ path: ['features', 'registration', 'settings', 'registration_url'], message: problem });
  }
  return problems;
}

function checkState(root: Mapping): FoundProblem[] {
  const state = mapping(root.state);
  if (state?.driver !== 'postgresql') return [];
  const problems: FoundProblem[] = [];
  if (typeof state.url !== 'string') problems.push({ path: ['state', 'url'], message: 'is needed with driver: postgresql (the database every instance shares)' });
  const rex = mapping(root.rex);
  const broker = mapping(rex?.mqtt)?.broker ?? 'embedded';
  if (rex?.enabled === true && rex.mode !== 'forward' && broker === 'embedded') {
    problems.push({
      path: ['rex', 'mqtt', 'broker'],
      message:
        "must be an external broker (mqtt:// or mqtts:// URL) with state driver postgresql: the embedded broker lives inside one instance, so hosts connected to it never hear the doorbells another instance rings, and lose it when that instance stops",
    });
  }
  return problems;
}
