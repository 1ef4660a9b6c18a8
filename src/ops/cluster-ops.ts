// Runtime operations on a cluster (state.driver: postgresql). drain / maintenance / enable stay
// operational state of each process, never persisted; the instance that is asked applies the
// operation to itself and forwards it to every other live instance, found through the heartbeat
// rows in the shared database (each registers its runtime URL there). A forwarded call carries
// scope=instance, so it is applied where it lands and goes no further.
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { Config } from '../config/types.js';
import { RuntimeClient, tlsFromConfig } from './runtime-client.js';

/** One instance as its heartbeat row shows it; times in ms since the epoch. */
export interface InstanceInfo {
  id: string;
  runtimeUrl: string | null;
  startedAt: number;
  lastHeartbeat: number;
  leaseUntil: number;
  /** The lease has not expired (by the database's clock). */
  live: boolean;
}

/** The cluster's instances, as this instance sees them. */
export interface ClusterDirectory {
  readonly selfId: string;
  instances(): Promise<InstanceInfo[]>;
}

/** This instance's place in the cluster: its heartbeat row, written from start to stop. */
export interface ClusterMembership extends ClusterDirectory {
  join(runtimeUrl: string | null): Promise<void>;
  leave(): Promise<void>;
}

/** What a forwarded operation did on one instance. */
export interface InstanceOutcome {
  instance: string;
  runtime_url: string | null;
  outcome: 'applied' | 'failed';
  state?: string;
  detail?: string;
}

/** Query flag that keeps an operation on the instance that receives it. */
export const INSTANCE_SCOPE = 'scope=instance';

/** A peer that does not answer within this is reported as failed; the others are not held up. */
const PEER_TIMEOUT_MS = 5_000;

const WILDCARDS = new Set(['*', '::', '0.0.0.0']);

/** A listener as the daemon bound it. */
export interface ListenerAddress {
  scheme: 'http' | 'https';
  host: string;
  port: number;
}

/**
 * The URL other instances reach this one's runtime API at: runtime_api.advertise_url, else the
 * first listener (HTTP before HTTPS, as the CLI prefers), on its address or, when it listens on
 * every address, on this machine's host name.
 */
export function advertisedRuntimeUrl(config: Config, listeners: ListenerAddress[]): string | null {
  if (config.runtime_api.advertise_url) return config.runtime_api.advertise_url.replace(/\/$/, '');
  const l = listeners.find((x) => x.scheme === 'http') ?? listeners.find((x) => x.scheme === 'https');
  if (!l) return null;
  const host = WILDCARDS.has(l.host) ? hostname() : l.host;
  return `${l.scheme}://${isIP(host) === 6 ? `[${host}]` : host}:${l.port}`;
}

/**
 * Applies a runtime API operation (a path under /proxy_proxy/) on every other live instance.
 * An instance that cannot be listed, reached or that refuses is reported, never retried: the
 * operation is not persisted, and the administrator decides.
 */
export async function applyOnPeers(directory: ClusterDirectory, config: Config, path: string): Promise<InstanceOutcome[]> {
  let instances: InstanceInfo[];
  try {
    instances = await directory.instances();
  } catch (err) {
    return [{ instance: '*', runtime_url: null, outcome: 'failed', detail: `cannot list the cluster's instances: ${(err as Error).message}` }];
  }
  const peers = instances.filter((i) => i.live && i.id !== directory.selfId);
  let tls: ReturnType<typeof tlsFromConfig>;
  try {
    tls = tlsFromConfig(config);
  } catch (err) {
    return peers.map((p) => ({ instance: p.id, runtime_url: p.runtimeUrl, outcome: 'failed', detail: `no client certificate: ${(err as Error).message}` }));
  }
  return Promise.all(
    peers.map(async (peer): Promise<InstanceOutcome> => {
      const base = { instance: peer.id, runtime_url: peer.runtimeUrl };
      if (!peer.runtimeUrl) return { ...base, outcome: 'failed', detail: 'registered no runtime URL' };
      const client = new RuntimeClient({ url: peer.runtimeUrl, ...tls }, PEER_TIMEOUT_MS);
      try {
        const answer = (await client.call('POST', `${path}?${INSTANCE_SCOPE}`)) as { state?: string };
        return { ...base, outcome: 'applied', state: answer.state };
      } catch (err) {
        return { ...base, outcome: 'failed', detail: (err as Error).message };
      } finally {
        await client.close();
      }
    }),
  );
}
