// The four (five) ways to reach the fast backend that the pass-through comparison measures,
// each its own process on loopback.
import { startDaemon, type DaemonProcess } from '../daemon-process.js';
import { startHaproxy } from '../haproxy.js';
import { FORWARDER_MAIN } from '../paths.js';
import { LOOPBACK, spawnServer } from '../proc.js';

export interface Target {
  name: string;
  url: string;
  /** The process doing the proxying, for CPU per request; none for direct. */
  pid?: number;
  daemon?: DaemonProcess;
}

/** GET /dhcp: a read Foreman makes (subnet list), authorized and routed by proxy-proxy. */
export const ROUTE = '/dhcp';

/**
 * proxy-proxy as a careful administrator would run it for this: `dhcp` on failover, the caller
 * checked against trusted_hosts (loopback reverse-resolves to localhost, forward-verified), the
 * request log on.
 */
export function passThroughDaemon(backendPort: number, label: string, logLevel: 'INFO' | 'WARN', nodeArgs: string[] = []) {
  return startDaemon({
    label,
    backends: { fast: `http://${LOOPBACK}:${backendPort}` },
    features: '  dhcp: { policy: failover }',
    extra: 'trusted_hosts: [localhost]\nforward_verify: true',
    logLevel,
    nodeArgs,
  });
}

export async function startTargets(backendPort: number, withHaproxy: boolean): Promise<Target[]> {
  const targets: Target[] = [{ name: 'direct', url: `http://${LOOPBACK}:${backendPort}${ROUTE}` }];
  if (withHaproxy) {
    const h = await startHaproxy(backendPort);
    targets.push({ name: 'HAProxy', url: `http://${LOOPBACK}:${h.port}${ROUTE}`, pid: h.child.pid });
  }
  const fwd = await spawnServer(FORWARDER_MAIN, [`http://${LOOPBACK}:${backendPort}`]);
  targets.push({ name: 'bare Node forwarder', url: `http://${LOOPBACK}:${fwd.port}${ROUTE}`, pid: fwd.child.pid });
  const pp = await passThroughDaemon(backendPort, 'pp', 'INFO');
  targets.push({ name: 'proxy-proxy', url: `${pp.url}${ROUTE}`, pid: pp.child.pid, daemon: pp });
  const quiet = await passThroughDaemon(backendPort, 'pp-quiet', 'WARN');
  targets.push({ name: 'proxy-proxy, no request log', url: `${quiet.url}${ROUTE}`, pid: quiet.child.pid, daemon: quiet });
  return targets;
}
