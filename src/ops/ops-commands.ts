// `proxy-proxy drift` and `proxy-proxy status`: ask the running daemon over its runtime API.
// The check itself runs in the daemon, which holds the key locks and the backend connections.
// Exit status: 0 in step (drift) / answered (status), 1 differences left, 2 no answer from the daemon.
import { ConfigError, loadConfig } from '../config/load.js';
import { formatDriftReport, type DriftReport } from '../converge/drift/drift-report.js';
import { DaemonUnreachable, RuntimeClient, endpointFromConfig, tlsFromConfig, type DaemonEndpoint } from './runtime-client.js';
import { formatStatus } from './status-format.js';

export const EXIT_IN_STEP = 0;
export const EXIT_DRIFT = 1;
export const EXIT_UNREACHABLE = 2;

export interface OpsFlags {
  config: string;
  /** --config was given (with --url it only supplies the client certificate). */
  configGiven: boolean;
  url?: string;
  json: boolean;
  repair: boolean;
  prune: boolean;
}

type Out = NodeJS.WritableStream;

/** Resolves once written: the caller exits right after, and pipes are not synchronous everywhere. */
const emit = (out: Out, text: string) => new Promise<void>((resolve) => out.write(text, () => resolve()));

function endpoint(flags: OpsFlags): DaemonEndpoint {
  try {
    if (flags.url) return { url: flags.url, ...(flags.configGiven ? tlsFromConfig(loadConfig(flags.config)) : {}) };
    return endpointFromConfig(loadConfig(flags.config));
  } catch (err) {
    if (err instanceof ConfigError) throw new DaemonUnreachable(`cannot find the daemon from ${flags.config}:\n${err.message}`);
    throw err;
  }
}

async function ask<T>(flags: OpsFlags, err: Out, fn: (c: RuntimeClient) => Promise<T>): Promise<T | undefined> {
  let client: RuntimeClient | undefined;
  try {
    client = new RuntimeClient(endpoint(flags));
    return await fn(client);
  } catch (e) {
    // A certificate or key we may not read (e.g. not run as the service user) is one more way of not getting through.
    const systemError = typeof e === 'object' && e !== null && 'syscall' in e;
    if (!(e instanceof DaemonUnreachable) && !systemError) throw e;
    err.write(`proxy-proxy: ${(e as Error).message}\n`);
    return undefined;
  } finally {
    await client?.close();
  }
}

export async function driftCommand(flags: OpsFlags, out: Out, err: Out): Promise<number> {
  const form: Record<string, string> = {};
  if (flags.repair || flags.prune) form.repair = '1';
  if (flags.prune) form.prune = '1';
  const report = (await ask(flags, err, (c) => c.call('POST', 'drift', form))) as DriftReport | undefined;
  if (!report) return EXIT_UNREACHABLE;
  await emit(out, flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatDriftReport(report));
  return report.inStep ? EXIT_IN_STEP : EXIT_DRIFT;
}

export async function statusCommand(flags: OpsFlags, out: Out, err: Out): Promise<number> {
  const doc = await ask(flags, err, (c) => c.call('GET', 'status'));
  if (doc === undefined) return EXIT_UNREACHABLE;
  await emit(out, flags.json ? `${JSON.stringify(doc, null, 2)}\n` : formatStatus(doc));
  return 0;
}
