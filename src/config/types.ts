// The validated configuration, after defaults are applied. The YAML keys follow the smart
// proxy's own settings.yml names where one exists; the JSON schema in schema.ts is the
// single source of truth for what is accepted.

export type PolicyName = 'replicate' | 'failover' | 'primary';
export type FailoverOrder = 'ordered' | 'round_robin';
export type LogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
/** What a replicated write does when one of its backends is down (not refusing the write). */
export type OnBackendDown = 'refuse' | 'catch_up';
/** smart-proxy `:enabled:` — true, false, or only on one listener. */
export type EnabledOn = boolean | 'http' | 'https';

export interface BackendConfig {
  name: string;
  /** Base URL of the smart proxy, e.g. https://proxy1.example.com:8443 */
  url: string;
  /** Client certificate presented to the backend (its CN must be in the backend's trusted_hosts). */
  ssl_certificate?: string;
  ssl_private_key?: string;
  /** CA that signed the backend's server certificate. */
  ssl_ca_file?: string;
  connect_timeout_ms: number;
  response_timeout_ms: number;
}

export interface HealthCheckConfig {
  interval_ms: number;
  timeout_ms: number;
  /** consecutive good checks before a down backend is up again (HAProxy `rise`) */
  rise: number;
  /** consecutive bad checks before an up backend is down (HAProxy `fall`) */
  fall: number;
}

export interface PassiveEjectionConfig {
  /** consecutive failed live calls that eject a backend */
  consecutive_failures: number;
  base_ejection_ms: number;
  max_ejection_ms: number;
  /** Each period this long spent healthy lowers the back-off one step (Envoy-like decay). */
  decay_after_ms: number;
}

export interface FeatureConfig {
  name: string;
  enabled: EnabledOn;
  policy: PolicyName;
  /** Ordered backend names; for `primary` the first is the primary. */
  backends: string[];
  /** failover only: walk the list in order, or start at a rotating offset. */
  order: FailoverOrder;
  /** Overrides for exposed settings in /v2/features (e.g. tftp_servername). */
  settings: Record<string, string | number | boolean | null>;
  /** replicate only: refuse writes while a backend is down, or apply them and catch it up later. */
  on_backend_down: OnBackendDown;
  /** replicate + catch_up only: backends that must apply a write before Foreman hears success. */
  min_success: number;
}

export interface DriftConfig {
  /** node-cron expression for a scheduled drift check; null = off. */
  schedule: string | null;
  /** Whether the scheduled run also repairs what it finds. */
  repair: boolean;
}

export interface RetryConfig {
  base_ms: number;
  max_ms: number;
}

export interface RuntimeApiConfig {
  /**
   * Who may use /proxy_proxy/* (status, drain, maintenance, enable): IP addresses or CIDRs for
   * the client address, or client-certificate CNs on HTTPS. Loopback only by default.
   */
  allow: string[];
  /** Where the other instances of a cluster reach this one's runtime API (default: derived from the listeners). */
  advertise_url?: string;
}

/** TLS files for a client connection (or, for the embedded broker, its listener). */
export interface TlsFiles {
  ssl_certificate?: string;
  ssl_private_key?: string;
  ssl_ca_file?: string;
}

export interface RexMqttConfig extends TlsFiles {
  /** 'embedded' (an MQTT broker inside the daemon) or mqtt://host:port / mqtts://host:port. */
  broker: string;
  embedded_bind: string;
  embedded_port: number;
  /** Seconds before a doorbell nobody fetched is sent again (REX mqtt_resend_interval). */
  resend_interval: number;
  /** Most jobs in flight at once (REX mqtt_rate_limit); null: no limit. */
  rate_limit: number | null;
  /** Seconds a doorbell holds a rate-limit slot while not fetched (REX mqtt_ttl). */
  ttl: number;
  /** Seconds of silence after which a fetched job stops counting against rate_limit. */
  silent_slot_timeout: number;
}

export interface RexCallbackConfig extends TlsFiles {
  /** Most finished jobs in one POST to Foreman. */
  batch_size: number;
  /** How long a finished job may wait for others to share its POST, ms. */
  batch_interval_ms: number;
  /** Largest callback body, bytes (a single larger job still goes alone). */
  max_body_bytes: number;
  /** POSTs in flight at once. */
  concurrency: number;
  timeout_ms: number;
  retry: RetryConfig;
}

export interface RexConfig {
  enabled: boolean;
  /** pull-mqtt: Script jobs are hosted (the spool); forward: they go to the dynflow backends. */
  mode: 'pull-mqtt' | 'forward';
  /** Base URL hosts use to reach proxy-proxy; unset: the proxy_url Foreman sends with each job. */
  proxy_url?: string;
  mqtt: RexMqttConfig;
  /** Seconds, when Foreman sends none. */
  time_to_pickup: number;
  /** Seconds, when Foreman sends none; null: no execution timeout. */
  execution_timeout_interval: number | null;
  /** Seconds a job fetched before a restart may stay silent after it before it ends with EXCEPTION. */
  lost_report_timeout: number;
  /** Seconds a host has to report its exit after being asked over MQTT to stop. */
  cancel_grace: number;
  max_script_bytes: number;
  max_output_bytes: number;
  max_launch_bytes: number;
  callback: RexCallbackConfig;
  /** Seconds a finished task stays queryable once Foreman has its result. */
  retention: number;
  /** Served at /ssh/pubkey; unset: an empty key. */
  ssh_public_key_file?: string;
}

export interface Config {
  /** File the config was read from; absent for configs built in code. */
  source?: string;
  bind_host: string[];
  http_port?: number;
  https_port?: number;
  ssl_certificate?: string;
  ssl_private_key?: string;
  ssl_ca_file?: string;
  /** undefined → everyone allowed; [] → everyone denied (as the smart proxy). */
  trusted_hosts?: string[];
  forward_verify: boolean;
  /** Foreman, for what proxy-proxy sends it itself: template and registration relays, REX callbacks. */
  foreman_url?: string;
  /** Name and URL Foreman has proxy-proxy registered under (OpenSCAP report uploads name them). */
  registered_name?: string;
  registered_url?: string;
  /** TLS towards foreman_url for the relays (smart-proxy names); each defaults to its ssl_* counterpart. */
  foreman_ssl_ca?: string;
  foreman_ssl_cert?: string;
  foreman_ssl_key?: string;
  log_level: LogLevel;
  /** Largest request body accepted, bytes; more → 413. */
  max_body_bytes: number;
  /** How long SIGTERM waits for in-flight requests. */
  shutdown_timeout_ms: number;
  /** Every request is answered within this, ms: below Foreman's proxy_request_timeout. */
  request_deadline_ms: number;
  /** Response timeout of the snapshot read before a replicated write, ms. */
  snapshot_timeout_ms: number;
  /** Reported by /version when no backend has told us its own version yet. */
  fallback_version: string;
  /** Directory of the SQLite state file (saga log, desired-state ledger). */
  state_dir: string;
  state: StateConfig;
  /** Seconds a finished saga is kept in the log (from its last change). */
  saga_retention: number;
  /** Seconds the owner of a forwarded dynflow task is remembered (from its launch). */
  dynflow_task_retention: number;
  /** Seconds an OpenSCAP report Foreman has is kept for its reads (from its upload). */
  openscap_report_retention: number;
  drift: DriftConfig;
  /** Back-off for retrying a compensation that failed. */
  compensation_retry: RetryConfig;
  runtime_api: RuntimeApiConfig;
  /** The remote-execution pull-mqtt job spool proxy-proxy hosts itself. */
  rex: RexConfig;
  health_check: HealthCheckConfig;
  passive_ejection: PassiveEjectionConfig;
  backends: Record<string, BackendConfig>;
  features: Record<string, FeatureConfig>;
}

/** The state driver: one SQLite file in state_dir, or a PostgreSQL database shared by instances. */
export interface StateConfig {
  driver: 'sqlite' | 'postgresql';
  /** postgresql only. */
  url?: string;
  pool_size: number;
  /** postgresql only: an instance is live this long after its last heartbeat (heartbeat every fifth). */
  lease_ms: number;
  /** postgresql only: how often the sagas of instances whose lease ran out are looked for. */
  takeover_interval_ms: number;
  /** postgresql only: seconds a gone instance's heartbeat row is kept. */
  instance_retention: number;
}
