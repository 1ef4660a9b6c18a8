// What a smart-proxy module declares about itself, in its one file under features/: how Foreman
// reaches it (mounts, routes), how proxy-proxy serves it (default policy, local or not), how it
// looks in /features, /v2/features and /version, what the config reference says about it, and
// how the drift check reads it back. The core iterates over the list in index.ts and names no
// module, as the smart proxy's plugin loader does (lib/proxy/plugin.rb).
import type { PolicyName } from '../config/types.js';
import type { FeatureInspector, PeerInspector } from './drift-inspector.js';
import type { AuthKind, RouteSpec } from './route.js';

export interface FeatureModule {
  /** Module name as the smart proxy reports it in /features ('tftp', 'puppetca', …). */
  name: string;
  /** One sentence for the configuration reference. */
  description: string;
  /**
   * Position in the smart proxy's plugin load order, in which /v2/features and /version list
   * modules (Foreman sees their JSON text, so the order is part of looking like a smart proxy).
   * Built-in modules are 10…120 in the smart proxy's order; gem plugins load after them, in
   * bundler.d order (file names: ansible, dynflow, openscap, remote_execution_ssh), from 200 on.
   */
  loadOrder: number;
  /**
   * Path prefixes the module is mounted at. A 403 names the path relative to the mount
   * ("attempted to access /serverName"), as the smart proxy's Sinatra apps do.
   */
  mounts: string[];
  /** The policy the module gets unless the config says otherwise. */
  defaultPolicy: PolicyName;
  auth: AuthKind;
  /** Answered entirely by proxy-proxy (logs, the remote-execution spool); takes no backends. */
  localOnly?: boolean;
  /**
   * A smart-proxy plugin proxy-proxy hosts itself as the remote-execution spool: offered when
   * `rex.enabled` is true, never listed under `features:`, absent from /v2/features otherwise
   * (as on a proxy without the plugin installed).
   */
  rex?: boolean;
  /**
   * May be listed under `features:` with `backends` (and no policy): dynflow forwards the
   * operations proxy-proxy does not host to them; script uses them with `rex.mode: forward`.
   */
  forwards?: boolean;
  /**
   * A smart-proxy plugin (gem): listed in /features and /v2/features only while a backend of the
   * feature offers it (unless proxy-proxy hosts it), absent from /v2/features when not configured.
   */
  plugin?: boolean;
  /** The module has providers: its /v2/features settings carry `use_provider`. */
  providers?: boolean;
  /**
   * Settings exposed in /v2/features that the config may override (e.g. to name the VIP),
   * each with its description for the configuration reference.
   */
  exposedSettings: Record<string, string>;
  /** Capabilities the smart proxy lists for the module even while it is disabled. */
  disabledCapabilities?: string[];
  /** Capabilities reported while the module runs, for modules proxy-proxy answers itself. */
  capabilities?: string[];
  /**
   * Report every capability any backend has (plus the hosted ones), not only those all share:
   * for capabilities that name what can be launched somewhere (dynflow's operations).
   */
  capabilitiesFromEveryBackend?: boolean;
  /** Settings reported in /v2/features while the module runs, whatever the backends say. */
  fixedSettings?: Record<string, string>;
  /** Version reported in /version: plugins carry their own gem version, not the proxy's. */
  version?: string;
  /** How the drift check reads a backend back and compares it with the ledger (replicated features). */
  drift?: FeatureInspector;
  /** How the drift check compares the backends with each other, for state not written through proxy-proxy. */
  peerDrift?: PeerInspector;
  routes: RouteSpec[];
}
