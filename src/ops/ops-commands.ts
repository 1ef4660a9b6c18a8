// `proxy-proxy drift`, `status`, `drain`, `maintenance`, `enable`: ask the running daemon over its
// runtime API. The check itself runs in the daemon, which holds the key locks and the backend
// connections; in a cluster the daemon asked forwards drain/maintenance/enable to every instance.
// Exit status: 0 in step (drift) / answered (status) / applied everywhere, 1 differences left or
// not applied on some instance, 2 no answer from the daemon, 3 (drift) no difference found but a
// backend could not be verified (unreadable, or still catching up).
import { ConfigError, loadConfig } from '../config/load.js';
import { formatDriftReport, type DriftReport } from '../converge/drift/drift-report.js';
import { DaemonUnreachable, RuntimeClient, endpointFromConfig, tlsFromConfig, type DaemonEndpoint } from './runtime-client.js';
import { formatStatus } from './status-format.js';

export const EXIT_IN_STEP = 0;
export const EXIT_DRIFT = 1;
export const EXIT_UNREACHABLE = 2;
/** drift: no difference found, but some backend could not be read or is still catching up. */
export const EXIT_NOT_VERIFIED = 3;

export interface OpsFlags {
  config: string;
  /** --config was given (with --url it only supplies the client certificate). */
  configGiven: boolean;
  url?: string;
  json: boolean;
  repair: boolean;
  prune: boolean;
  /** drain / maintenance / enable / resync: the backend's name. */
  backend?: string;
}

export interface ResyncFlags extends OpsFlags {
  backend: string;
  feature?: string;
  /** Follow the catch-up until it is done (or timeoutMs passes); false: start it and return. */
  wait: boolean;
  timeoutMs: number;
  /** Between two progress reads, ms. */
  pollMs: number;
}

export type BackendAction = 'drain' | 'maintenance' | 'enable';

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
  return report.inStep ? EXIT_IN_STEP : report.remaining.length > 0 ? EXIT_DRIFT : EXIT_NOT_VERIFIED;
}

export async function statusCommand(flags: OpsFlags, out: Out, err: Out): Promise<number> {
  const doc = await ask(flags, err, (c) => c.call('GET', 'status'));
  if (doc === undefined) return EXIT_UNREACHABLE;
  await emit(out, flags.json ? `${JSON.stringify(doc, null, 2)}\n` : formatStatus(doc));
  return 0;
}

interface BackendOpAnswer {
  backend: string;
  state: string;
  instances?: { instance: string; runtime_url: string | null; outcome: string; state?: string; detail?: string }[];
  applied_everywhere?: boolean;
}

const DONE: Record<BackendAction, string> = { drain: 'drained', maintenance: 'in maintenance', enable: 'enabled' };

/** drain / maintenance / enable a backend on the daemon, and on every instance of its cluster. */
export async function backendCommand(action: BackendAction, flags: OpsFlags, out: Out, err: Out): Promise<number> {
  const path = `backends/${encodeURIComponent(flags.backend!)}/${action}`;
  const answer = (await ask(flags, err, (c) => c.call('POST', path))) as BackendOpAnswer | undefined;
  if (!answer) return EXIT_UNREACHABLE;
  const everywhere = answer.applied_everywhere ?? true;
  if (flags.json) await emit(out, `${JSON.stringify(answer, null, 2)}\n`);
  else if (!answer.instances) await emit(out, `${answer.backend} ${DONE[action]} (now ${answer.state}); not persisted: the config file stays the truth\n`);
  else {
    const lines = answer.instances.map((i) =>
      i.outcome === 'applied' ? `  ${i.instance}: ${i.state}` : `  ${i.instance}: NOT APPLIED: ${i.detail ?? 'failed'}`,
    );
    const head = everywhere
      ? `${answer.backend} ${DONE[action]} on all ${answer.instances.length} instance(s); not persisted: the config file stays the truth`
      : `${answer.backend} ${DONE[action]} on some instances only; run the command again or apply it with --url on each one listed`;
    await emit(everywhere ? out : err, `${head}\n${lines.join('\n')}\n`);
  }
  return everywhere ? 0 : EXIT_DRIFT;
}

interface StatusForResync {
  backends: { name: string; state: string; ejectedUntil: number | null }[];
  features: { name: string; catching_up?: string[] }[];
  convergence: { catchUpBacklog: Record<string, Record<string, number>> };
}

/**
 * Push the whole ledger to one backend again (it was rebuilt, or is suspected to be), then follow
 * its catch-up: a line each time the keys left change. Exit status 0 done, 1 not done within the
 * timeout, 2 no answer from the daemon (or it refused: unknown backend, not replicated).
 */
export async function resyncCommand(flags: ResyncFlags, out: Out, err: Out): Promise<number> {
  const form: Record<string, string> = flags.feature ? { feature: flags.feature } : {};
  const path = `backends/${encodeURIComponent(flags.backend)}/resync`;
  let client: RuntimeClient | undefined;
  const started = (await ask(flags, err, (c) => c.call('POST', path, form))) as { backend: string; state: string; backlog: Record<string, number> } | undefined;
  if (!started) return EXIT_UNREACHABLE;
  const keys = (b: Record<string, number>) => Object.entries(b).map(([f, n]) => `${f} ${n}`).join(', ');
  await emit(out, flags.json ? `${JSON.stringify(started)}\n` : `resync of ${started.backend} started: ${keys(started.backlog)} key(s) to send\n`);
  if (!flags.wait) return 0;
  const deadline = Date.now() + flags.timeoutMs;
  let shown = '';
  try {
    client = new RuntimeClient(endpoint(flags));
    while (Date.now() < deadline) {
      const doc = (await client.call('GET', 'status')) as StatusForResync;
      const left: Record<string, number> = {};
      for (const f of Object.keys(started.backlog)) left[f] = doc.convergence.catchUpBacklog[f]?.[flags.backend] ?? 0;
      const catching = doc.features.some((f) => Object.hasOwn(left, f.name) && (f.catching_up ?? []).includes(flags.backend));
      const b = doc.backends.find((x) => x.name === flags.backend);
      const note = b && (b.state !== 'up' || b.ejectedUntil) ? ` (${flags.backend} is ${b.ejectedUntil ? 'ejected' : b.state}: waiting for it)` : '';
      const line = flags.json ? JSON.stringify({ left, state: b?.state }) : `left: ${keys(left)}${note}`;
      if (line !== shown) await emit(out, `${line}\n`);
      shown = line;
      if (!catching && Object.values(left).every((n) => n === 0)) {
        if (!flags.json) await emit(out, `${flags.backend} holds the whole ledger again\n`);
        return 0;
      }
      await new Promise((r) => setTimeout(r, flags.pollMs));
    }
  } catch (e) {
    if (!(e instanceof DaemonUnreachable)) throw e;
    err.write(`proxy-proxy: ${e.message}\n`);
    return EXIT_UNREACHABLE;
  } finally {
    await client?.close();
  }
  err.write(`proxy-proxy: resync of ${flags.backend} not done after ${Math.round(flags.timeoutMs / 1000)} s; it goes on in the daemon (proxy-proxy status)\n`);
  return EXIT_DRIFT;
}
