// `proxy-proxy check-config FILE`: validate a file without starting anything, the way an
// administrator checks an edit before SIGHUP (as `haproxy -c` or `nginx -t`).
import { readFileSync } from 'node:fs';
import { answeredLocally } from '../features/index.js';
import { ConfigError, formatProblem, parseConfig } from './load.js';
import type { Config, FeatureConfig } from './types.js';
import { deepChecks } from './deep-checks.js';

/** Exit status: 0 valid, 1 invalid, 2 the file could not be read. */
export function checkConfigCommand(file: string, out: NodeJS.WritableStream, err: NodeJS.WritableStream): number {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    err.write(`${file}: cannot read: ${(error as Error).message}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = parseConfig(text, file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const count = error.problems.length;
    err.write(`${file}: ${count} ${count === 1 ? 'problem' : 'problems'}\n`);
    for (const problem of error.problems) err.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  out.write(`${file}: OK\n${summarise(config)}\n`);
  return 0;
}

/**
 * The CLI's check: the file's shape (checkConfigCommand), then what can only be checked on this
 * machine (deep-checks.ts). Warnings are printed but do not fail the check.
 */
export async function checkConfigOnHost(
  file: string,
  out: NodeJS.WritableStream,
  err: NodeJS.WritableStream,
  options: { hostChecks: boolean } = { hostChecks: true },
): Promise<number> {
  const held: string[] = [];
  const hold = { write: (s: string) => held.push(s) } as unknown as NodeJS.WritableStream;
  const shape = checkConfigCommand(file, hold, err);
  if (shape !== 0 || !options.hostChecks) {
    out.write(held.join(''));
    return shape;
  }
  const findings = await deepChecks(parseConfig(readFileSync(file, 'utf8'), file));
  const errors = findings.filter((f) => f.level === 'error');
  if (errors.length > 0) {
    err.write(`${file}: ${errors.length} ${errors.length === 1 ? 'problem' : 'problems'} on this host\n`);
    for (const f of errors) err.write(`${f.path}: ${f.message}\n`);
  } else out.write(held.join(''));
  for (const f of findings.filter((x) => x.level === 'warning')) err.write(`warning: ${f.path}: ${f.message}\n`);
  return errors.length > 0 ? 1 : 0;
}

/** One line: what would listen, where requests would go, and how each feature is handled. */
export function summarise(config: Config): string {
  const listeners: string[] = [];
  for (const [scheme, port] of [['http', config.http_port], ['https', config.https_port]] as const) {
    if (port !== undefined) listeners.push(`${scheme} ${config.bind_host.map((host) => `${hostPart(host)}:${port}`).join(' ')}`);
  }
  const backends = Object.keys(config.backends);
  const features = Object.values(config.features).map((feature) => describeFeature(feature, backends));
  return [
    `listeners: ${listeners.join(', ')}`,
    `backends: ${backends.join(', ') || 'none'}`,
    `features: ${features.join(', ') || 'none'}`,
  ].join('; ');
}

function describeFeature(feature: FeatureConfig, allBackends: string[]): string {
  const notes: string[] = [];
  if (feature.enabled === 'http' || feature.enabled === 'https') notes.push(`${feature.enabled} only`);
  if (feature.order === 'round_robin') notes.push('round robin');
  if (feature.backends.length > 0 && feature.backends.join() !== allBackends.join()) notes.push(feature.backends.join(' '));
  const how = answeredLocally(feature.name, feature.backends.length) ? 'local' : feature.policy;
  return `${feature.name} ${how}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

function hostPart(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
