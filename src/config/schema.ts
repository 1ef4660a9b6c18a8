// The JSON schema of proxy-proxy.yaml: the single statement of what the file accepts. Every
// property carries a `description` (the configuration reference is generated from them) and,
// where it has one, a `default` (applied by the validator, so defaults live only here).
// Keys follow the smart proxy's settings.yml names where one exists.
import { configurableFeatures, rexFeatures } from '../features/index.js';
import type { FeatureModule } from '../features/module.js';
import { ALLOW_ENTRY_MESSAGE, allowEntryProblem } from './runtime-allow.js';

export const BACKEND_NAME_PATTERN = '^[A-Za-z0-9_.-]+$';
export const VERSION_PATTERN = '^[0-9]+\\.[0-9]+\\.[0-9]+';

/** What a failed `pattern` means, in words; the raw regex is no help to an administrator. */
export const PATTERN_MESSAGES: Record<string, string> = {
  [BACKEND_NAME_PATTERN]: "may only contain letters, digits, '_', '.' and '-'",
  [VERSION_PATTERN]: 'must be a version such as 3.11.0',
};

/**
 * Custom formats (registered on the validator in validator.ts) and what a failure means; a
 * function when the words depend on the value.
 */
export const FORMAT_MESSAGES: Record<string, string | ((value: string) => string)> = {
  'http-url': 'must be an http:// or https:// URL',
  'http-base-url': "must be an http:// or https:// URL without a path (other than '/'), query or fragment",
  'mqtt-broker': "must be 'embedded' or an mqtt:// or mqtts:// URL naming a server (mqtts://broker.example.com:1883)",
  cron: 'is not a valid cron expression',
  'runtime-client': (value) => allowEntryProblem(value) ?? ALLOW_ENTRY_MESSAGE,
};

const POLICIES = ['replicate', 'failover', 'primary'];

/** A high-availability proxy should keep provisioning while one backend is down. */
export const DEFAULT_ON_BACKEND_DOWN = 'catch_up';

function integer(description: string, minimum: number, def?: number, maximum?: number): object {
  return {
    description,
    type: 'integer',
    minimum,
    ...(maximum === undefined ? {} : { maximum }),
    ...(def === undefined ? {} : { default: def }),
  };
}

// 0 asks the system for a free port (tests and harnesses read the real one back).
function port(description: string): object {
  return integer(`${description} 0 picks a free port.`, 0, undefined, 65535);
}

function file(description: string): object {
  return { description, type: 'string', minLength: 1 };
}

/** A module's entry under `features:`, from what its file declares. */
function featureSchema(module: FeatureModule): object {
  const exposed = Object.entries(module.exposedSettings);
  const settings = {
    description: !exposed.length
      ? 'Overrides for exposed settings; this feature exposes none.'
      : module.localOnly
        ? `The settings this feature reports in /v2/features (${exposed.map(([key]) => key).join(', ')}).`
        : `Overrides for the settings this feature reports in /v2/features (${exposed.map(([key]) => key).join(', ')}); unset ones come from the backends.`,
    type: 'object',
    additionalProperties: false,
    default: {},
    properties: Object.fromEntries(
      exposed.map(([key, description]) => [
        key,
        {
          description,
          type: ['string', 'number', 'boolean', 'null'],
        },
      ]),
    ),
  };
  const enabled = {
    description: "Whether the feature is offered: true, false, or only on the 'http' or 'https' listener (smart-proxy :enabled:).",
    enum: [true, false, 'http', 'https'],
    default: true,
  };
  const description = module.description;
  if (module.forwards) {
    return {
      description: `${description} null or {} means all backends.`,
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        enabled,
        backends: {
          description: 'Backend names, in order (for script the first is the one whose keys are served). Default: all backends in the order they are configured.',
          type: 'array',
          minItems: 1,
          uniqueItems: true,
          items: { description: 'A name from backends.', type: 'string' },
        },
      },
    };
  }
  if (module.localOnly) {
    // Answered by proxy-proxy itself: nothing to route, so no policy and no backends.
    return {
      description: `${description} Takes no backends.`,
      type: ['object', 'null'],
      additionalProperties: false,
      properties: { enabled, settings },
    };
  }
  return {
    description: `${description} Default policy: ${module.defaultPolicy}. null or {} means all defaults.`,
    type: ['object', 'null'],
    additionalProperties: false,
    properties: {
      enabled,
      policy: {
        description:
          'replicate: every write on every backend (undone on the others if one refuses); failover: one backend, the next if it is unreachable; primary: always the first backend.',
        enum: POLICIES,
        default: module.defaultPolicy,
      },
      backends: {
        description:
          'Backend names this feature uses, in order (for primary the first is the primary). Default: all backends in the order they are configured.',
        type: 'array',
        minItems: 1,
        uniqueItems: true,
        items: { description: 'A name from backends.', type: 'string' },
      },
      order: {
        description:
          'failover only: ordered always tries the first healthy backend first; round_robin starts at a rotating offset to spread load.',
        enum: ['ordered', 'round_robin'],
        default: 'ordered',
      },
      on_backend_down: {
        description:
          "replicate only: what a write does while one of the backends is down (failing its health checks, ejected, refusing connections, or not answering its snapshot read). catch_up (default): the write is applied on the backends that are up and Foreman is told it succeeded once min_success of them applied it; the ledger replays it on the missing backend when it is back, before that backend serves reads again (needs a writable state_dir). refuse: the write fails with 503 and nothing is applied anywhere. The trade-off: catch_up keeps provisioning going through an outage, but until the missing backend has caught up, hosts it serves (its dhcpd, its TFTP root) do not see the change, and with min_success 1 a write is held by one backend only until the others return; refuse never lets backends differ, but stops every write of the feature while any one of its backends is down. Writes that cannot be replayed from the ledger (no desired state is kept for them) are refused while a backend is down, whatever is set here.",
        enum: ['refuse', 'catch_up'],
        default: DEFAULT_ON_BACKEND_DOWN,
      },
      min_success: integer(
        "replicate with on_backend_down catch_up: how many backends must apply a write before Foreman is told it succeeded; at most the number of this feature's backends. 1 (default) keeps writes going while a single backend is left; raise it to have a write held by more than one backend before it counts (with 2 backends, 2 means refuse in effect).",
        1,
        1,
      ),
      settings,
    },
  };
}

function seconds(description: string, minimum: number, def: number): object {
  return integer(`${description} Seconds.`, minimum, def);
}

const rexFeatureNames = () => rexFeatures().map((m) => m.name).join(' and ');

/** A client certificate is useless without its key and vice versa. */
const CERT_NEEDS_KEY = { ssl_certificate: ['ssl_private_key'], ssl_private_key: ['ssl_certificate'] };

const rexSchema = {
  description:
    `The remote-execution pull-mqtt job spool proxy-proxy hosts itself: Foreman launches jobs through /dynflow, hosts get a doorbell over MQTT, fetch their script from /ssh/jobs with their client certificate and post output and exit; results go back to Foreman by callback. When enabled, /features offers ${rexFeatureNames()}.`,
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    enabled: {
      description: `Whether proxy-proxy offers the ${rexFeatureNames()} features and runs the spool. Needs foreman_url.`,
      type: 'boolean',
      default: false,
    },
    mode: {
      description:
        "pull-mqtt: proxy-proxy hosts Script jobs itself (the spool); forward: Script jobs go to the dynflow backends like every other operation (SSH on the backends), and no spool, broker or callback runs here. Never both for one proxy-proxy: a host whose jobs run over pull one day and SSH the next is a known trap.",
      enum: ['pull-mqtt', 'forward'],
      default: 'pull-mqtt',
    },
    proxy_url: {
      description:
        "Base URL hosts use to reach proxy-proxy's HTTPS listener (job and update URLs in the doorbell are built from it). Default: the proxy_url Foreman sends with each job, i.e. the URL proxy-proxy is registered with.",
      type: 'string',
      format: 'http-url',
    },
    mqtt: {
      description: 'The MQTT doorbell: where it is published and how often.',
      type: 'object',
      additionalProperties: false,
      default: {},
      dependentRequired: CERT_NEEDS_KEY,
      properties: {
        broker: {
          description:
            "'embedded': an MQTT broker inside proxy-proxy (hosts connect to embedded_bind:embedded_port); or the URL of an external broker (Mosquitto), mqtt://host:port or mqtts://host:port for TLS.",
          type: 'string',
          format: 'mqtt-broker',
          default: 'embedded',
        },
        embedded_bind: {
          description: "Address the embedded broker listens on; '*' means all interfaces. Hosts must be able to reach it.",
          type: 'string',
          minLength: 1,
          default: '127.0.0.1',
        },
        embedded_port: { ...port('Port of the embedded broker (yggdrasil is usually pointed at 1883, with TLS).'), default: 1883 },
        ssl_certificate: file(
          'Certificate (PEM) presented to the broker as client certificate, and served by the embedded broker, which then requires client certificates (a host is the CN of its certificate). Default: ssl_certificate.',
        ),
        ssl_private_key: file('Private key of mqtt.ssl_certificate (PEM). Default: ssl_private_key.'),
        ssl_ca_file: file(
          "CA bundle (PEM) the broker's certificate, and for the embedded broker the hosts' certificates, are verified against. Default: ssl_ca_file.",
        ),
        resend_interval: seconds('How long after a doorbell a host that has not fetched its job is rung again (REX mqtt_resend_interval).', 1, 60),
        rate_limit: {
          description:
            'Most jobs in flight at once: rung and not yet fetched (for ttl seconds), or fetched and not finished (REX mqtt_rate_limit). Further jobs wait in the spool. It bounds how many hosts fetch and post at once (each costs proxy-proxy some 100 KB while it does: a TLS connection, a request); with long scripts it also bounds throughput (rate_limit / script duration jobs per second). null: no limit.',
          type: ['integer', 'null'],
          minimum: 1,
          default: 1000,
        },
        ttl: seconds('How long an unanswered doorbell counts against rate_limit (REX mqtt_ttl).', 1, 5),
        silent_slot_timeout: seconds(
          'A fetched job whose host has sent nothing for this long stops counting against rate_limit (hosts post output at most every 15 s while a script prints, nothing while it is silent, and never retry a lost post, so such a job may never report again). It keeps running and its results are still accepted; the limit is there to throttle fetches, not to wait for the silent. A job fetched before a restart and silent since stops counting at once.',
          1,
          600,
        ),
      },
    },
    time_to_pickup: seconds(
      'A job not fetched this long after launch ends with "The job was not picked up in time", when Foreman sends no time_to_pickup with it (Foreman\'s own default is 86400).',
      1,
      86400,
    ),
    execution_timeout_interval: {
      description:
        'Seconds from launch after which a job is stopped (a cancel over MQTT once fetched), when Foreman sends no execution_timeout_interval with it. null: no timeout.',
      type: ['integer', 'null'],
      minimum: 1,
      default: null,
    },
    lost_report_timeout: seconds(
      'A job that was fetched and unfinished when proxy-proxy stopped (or was killed), or whose host talked to a cluster instance that is gone (its lease expired), and from whose host nothing has come since ends after this long with EXCEPTION and "No report from the host since proxy-proxy restarted at <time> (or found the instance that served the job gone)": its exit may have been posted while nothing listened, and hosts never retry. Any report from the host first cancels this. The default (a day, Foreman\'s default time_to_pickup) leaves silent long scripts alone; lower it when jobs are known to be short. An execution_timeout_interval still applies on its own.',
      1,
      86400,
    ),
    cancel_grace: seconds(
      'After a fetched job was asked over MQTT to stop (cancel or execution timeout), how long the host has to report its exit before the job ends with EXCEPTION.',
      1,
      60,
    ),
    max_script_bytes: integer('Largest script one job may carry, bytes; a launch with a larger one is refused (413).', 1, 1048576),
    max_output_bytes: integer('Output kept per job, bytes; later output is dropped and the drop noted in the output.', 1, 4194304),
    max_launch_bytes: integer(
      'Largest /dynflow launch request, bytes (Foreman sends up to 100 hosts with their scripts in one); max_body_bytes applies to every other request.',
      1,
      33554432,
    ),
    callback: {
      description:
        "Results to Foreman: POST <foreman_url>/foreman_tasks/api/tasks/callback, several finished jobs coalesced into one body, retried until Foreman answers 200. Presents ssl_certificate unless set here.",
      type: 'object',
      additionalProperties: false,
      default: {},
      dependentRequired: CERT_NEEDS_KEY,
      properties: {
        batch_size: integer('Most finished jobs in one callback POST.', 1, 100, 1000),
        batch_interval_ms: integer('How long a finished job may wait for others to share its POST, ms.', 0, 250),
        max_body_bytes: integer('Largest callback body, bytes; a single larger job is still sent, alone.', 1024, 8388608),
        concurrency: integer('Callback POSTs in flight at once.', 1, 4, 64),
        timeout_ms: integer('Time Foreman has to answer one callback POST, ms.', 1, 30000),
        retry: {
          description: 'Back-off between attempts of a callback Foreman did not accept: the wait grows from base_ms up to max_ms.',
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            base_ms: integer('Wait before the first retry, ms.', 1, 1000),
            max_ms: integer('Longest wait between two retries, ms; at least base_ms.', 1, 300000),
          },
        },
        ssl_certificate: file("Client certificate presented to Foreman (PEM). Default: ssl_certificate."),
        ssl_private_key: file('Private key of callback.ssl_certificate (PEM). Default: ssl_private_key.'),
        ssl_ca_file: file("CA bundle Foreman's server certificate is verified against (PEM). Default: ssl_ca_file, else the system CAs."),
      },
    },
    retention: seconds(
      'How long a finished task stays queryable (/dynflow/tasks/status) after Foreman accepted its result; Foreman polls every 600 s when a callback is lost. Tasks whose result Foreman has not accepted are kept.',
      1,
      1800,
    ),
    ssh_public_key_file: file(
      'Public SSH key served at /ssh/pubkey (Foreman reads it when it refreshes a proxy with the Script feature). Default: an empty key.',
    ),
  },
};

const backendSchema = {
  description: 'One real smart proxy behind proxy-proxy.',
  type: 'object',
  additionalProperties: false,
  required: ['url'],
  // A client certificate is useless without its key and vice versa.
  dependentRequired: { ssl_certificate: ['ssl_private_key'], ssl_private_key: ['ssl_certificate'] },
  properties: {
    url: {
      description: 'Base URL of the smart proxy, e.g. https://proxy1.example.com:8443 (no path).',
      type: 'string',
      format: 'http-base-url',
    },
    ssl_certificate: file(
      "Client certificate presented to this backend (PEM); its CN must be in the backend's trusted_hosts.",
    ),
    ssl_private_key: file('Private key of ssl_certificate (PEM).'),
    ssl_ca_file: file("CA bundle that signed the backend's server certificate (PEM); default: the system CAs."),
    connect_timeout_ms: integer('Time allowed to open a connection to this backend, ms.', 1, 2000),
    response_timeout_ms: integer('Time allowed for this backend to answer a request, ms.', 1, 60000),
  },
};

export const configSchema = {
  $schema: 'https://json-schema.org/draft/2019-09/schema',
  title: 'proxy-proxy configuration',
  description:
    'proxy-proxy.yaml: one smart proxy towards Foreman, 1..N real smart proxies behind it. At least one of http_port and https_port must be set.',
  type: 'object',
  additionalProperties: false,
  required: ['features'],
  anyOf: [{ required: ['http_port'] }, { required: ['https_port'] }],
  // As the smart proxy: HTTPS needs all three files.
  dependentRequired: {
    https_port: ['ssl_certificate', 'ssl_private_key', 'ssl_ca_file'],
    foreman_ssl_cert: ['foreman_ssl_key'],
    foreman_ssl_key: ['foreman_ssl_cert'],
  },
  properties: {
    bind_host: {
      description: "Address(es) to listen on, a string or a list; '*' means all interfaces.",
      type: ['string', 'array'],
      minLength: 1,
      minItems: 1,
      items: { description: "An address or host name; '*' means all interfaces.", type: 'string', minLength: 1 },
      default: ['*'],
    },
    http_port: port('Plain HTTP listener port (smart-proxy example: 8000). Unset: no HTTP listener.'),
    https_port: port(
      'HTTPS listener port (smart-proxy default 8443). Needs ssl_certificate, ssl_private_key and ssl_ca_file.',
    ),
    ssl_certificate: file('Server certificate for the HTTPS listener (PEM); also the client certificate towards Foreman.'),
    ssl_private_key: file('Private key of ssl_certificate (PEM).'),
    ssl_ca_file: file('CA bundle that client certificates (Foreman, hosts) are verified against (PEM).'),
    trusted_hosts: {
      description:
        'Host names allowed to call authenticated routes (client-certificate CN on HTTPS, reverse DNS on HTTP). Unset or null: everyone; []: no one.',
      type: ['array', 'null'],
      items: { description: 'A host name, compared case-insensitively.', type: 'string', minLength: 1 },
    },
    forward_verify: {
      description: 'On HTTP, also require the forward DNS lookup of the reverse name to contain the client address.',
      type: 'boolean',
      default: true,
    },
    foreman_url: {
      description:
        'URL of Foreman, for what proxy-proxy sends it itself: templates and registration relayed for hosts (needed when either feature is offered), remote-execution callbacks, OpenSCAP reports (smart-proxy foreman_url).',
      type: 'string',
      format: 'http-url',
    },
    registered_name: {
      description: 'Name proxy-proxy is registered with in Foreman; sent with OpenSCAP reports (openscap_proxy_name) so Foreman knows where to read them back.',
      type: 'string',
      minLength: 1,
    },
    registered_url: {
      description: 'URL proxy-proxy is registered with in Foreman; sent with OpenSCAP reports (openscap_proxy_url).',
      type: 'string',
      format: 'http-url',
    },
    foreman_ssl_ca: file(
      "CA bundle Foreman's server certificate is verified against when foreman_url is https (PEM). Default: ssl_ca_file, else the system CAs.",
    ),
    foreman_ssl_cert: file(
      'Client certificate presented to Foreman by the template and registration relays (PEM); Foreman must trust its name as a smart proxy. Default: ssl_certificate.',
    ),
    foreman_ssl_key: file('Private key of foreman_ssl_cert (PEM). Default: ssl_private_key.'),
    log_level: {
      description: 'Log verbosity: DEBUG, INFO, WARN or ERROR (case-insensitive).',
      enum: ['DEBUG', 'INFO', 'WARN', 'ERROR', 'debug', 'info', 'warn', 'error'],
      default: 'INFO',
    },
    max_body_bytes: integer('Largest request body accepted, bytes; larger requests get 413.', 1, 1048576),
    shutdown_timeout_ms: integer('How long SIGTERM waits for in-flight requests before closing, ms.', 0, 10000),
    request_deadline_ms: integer(
      "Every request is answered within this time, ms. Keep it below Foreman's proxy_request_timeout setting (60 s by default), so Foreman gets an answer rather than a ReadTimeout. Backend calls still pending at the deadline are settled as a timeout is: a read answers 503, a replicated write is caught up later (on_backend_down: catch_up) or undone. The undo a write needs after a failure gets snapshot_timeout_ms more.",
      1000,
      45000,
    ),
    snapshot_timeout_ms: integer(
      "Time a backend has to answer the snapshot read taken before a replicated write (what the key holds, for an exact undo), ms; also bounds each undo call made before Foreman is answered, and each replay that catches a backend up from the ledger (a backend that hangs during its catch-up is tried again on a later round; the other backends are caught up meanwhile). A backend that does not answer in time gets no write: under on_backend_down catch_up it is caught up later, under refuse the write is refused with nothing written. A short value keeps a frozen backend from holding every write up to response_timeout_ms.",
      1,
      5000,
    ),
    fallback_version: {
      description: 'Version reported by /version until a backend has reported its own.',
      type: 'string',
      pattern: VERSION_PATTERN,
      default: '3.11.0',
    },
    state_dir: {
      description:
        'Directory of the state file (SQLite: saga log of replicated writes, desired-state ledger); must be writable. A relative path is resolved against the directory of this configuration file.',
      type: 'string',
      minLength: 1,
      default: '/var/lib/proxy-proxy',
    },
    state: {
      description:
        'Where the durable state lives: the saga log of replicated writes, the desired-state ledger, catch-up markers and the remote-execution spool. sqlite (default) keeps it in one file in state_dir, for one instance. postgresql keeps it in a PostgreSQL database that any number of proxy-proxy instances share; they coordinate through it (per-key write order, heartbeats and leases). A replicated write that cannot be recorded is refused with 503, never sent unrecorded. Move an existing SQLite state over with `proxy-proxy state migrate --to URL`.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        driver: {
          description: 'sqlite: one file in state_dir (embedded, one instance). postgresql: a shared database given by url (several instances).',
          enum: ['sqlite', 'postgresql'],
          default: 'sqlite',
        },
        url: {
          description:
            'postgresql only: connection URL, e.g. postgresql://proxy-proxy:secret@db.example.com:5432/proxy_proxy?sslmode=verify-full. Every instance of a cluster names the same database.',
          type: 'string',
          pattern: '^postgres(ql)?://',
        },
        pool_size: integer('postgresql only: connections at most in each of this instance\'s two pools: the shared state (sagas, ledger, REX spool) and the key locks that replicated writes hold while they run.', 1, 10, 1000),
        lease_ms: integer(
          "postgresql only: how long an instance counts as live after its last heartbeat, ms; it renews its heartbeat row every fifth of this. Once the lease of an instance has run out (it died, or lost the database), a survivor settles the replicated writes it left open. Shorter settles a dead instance's writes sooner; too short hands the writes of an instance that merely paused to another (settled under their keys, never twice). Read at start.",
          1000,
          10000,
        ),
        takeover_interval_ms: integer(
          'postgresql only: how often an instance looks for replicated writes left open by instances whose lease has run out, ms. A dead instance\'s writes are settled at most lease_ms plus this after its last heartbeat.',
          100,
          2000,
        ),
        instance_retention: seconds(
          "postgresql only: how long the heartbeat row of an instance that is gone (its lease ran out) stays listed by `proxy-proxy status` before the clean-up removes it. What the instance left open is taken over when its lease runs out, not when its row goes.",
          60,
          86400,
        ),
      },
    },
    saga_retention: seconds(
      "How long a finished replicated write (saga: completed or compensated) stays in the saga log, counted from its last change; open writes and pending compensations are never removed. A longer time keeps each write's targets, snapshots and per-backend outcomes for investigation (saga ids appear in the logs); it costs about 1 KB per write, so at 10 writes a second the default keeps some 6 million sagas (about 6 GB). The leader of a cluster (the one instance with SQLite) removes them in small batches every few minutes.",
      60,
      604800,
    ),
    dynflow_task_retention: seconds(
      "How long proxy-proxy remembers which backend owns a dynflow task it forwarded (counted from the launch); Foreman's later calls about the task (status, cancel) are sent there. After that, calls about the task are answered as for an unknown task (404). smart_proxy_dynflow itself forgets finished tasks after its execution_plan_cleaner_age (1 day by default), so a longer time only matters for tasks that run longer.",
      3600,
      604800,
    ),
    openscap_report_retention: seconds(
      "How long an OpenSCAP report that Foreman has (or refused, or that may have reached it) is kept for Foreman's reads of the full report, counted from the upload; Foreman deletes it sooner when it deletes the report itself. Reports still to be sent are never removed. Longer keeps old full reports viewable in Foreman at the cost of their size (a compressed ARF report is some 100 KB-1 MB).",
      86400,
      7776000,
    ),
    drift: {
      description:
        'Drift check: compares what the backends hold with the desired-state ledger of replicated features.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        schedule: {
          description:
            "When to run the check: a node-cron expression (5 fields, or 6 with seconds first), e.g. '0 3 * * *' for 03:00 daily. null: no scheduled check.",
          type: ['string', 'null'],
          format: 'cron',
          default: null,
        },
        repair: {
          description: 'Whether the scheduled check also repairs what it finds, or only reports it.',
          type: 'boolean',
          default: false,
        },
      },
    },
    compensation_retry: {
      description:
        'Back-off for retrying a compensation (the undo of a partly applied replicated write) that failed: the wait grows from base_ms up to max_ms.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        base_ms: integer('Wait before the first retry, ms.', 1, 1000),
        max_ms: integer('Longest wait between two retries, ms; at least base_ms.', 1, 60000),
      },
    },
    runtime_api: {
      description: "proxy-proxy's own runtime API under /proxy_proxy/ (status, drain, maintenance, enable).",
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        allow: {
          description:
            'Who may call it: IP addresses or CIDRs matched against the client address, or client-certificate CNs (HTTPS), compared case-insensitively. Default: loopback only; []: no one.',
          type: 'array',
          uniqueItems: true,
          items: {
            description: 'An IPv4 or IPv6 address (127.0.0.1, ::1), a CIDR (10.0.0.0/8, fd00::/8) or a client-certificate CN (foreman.example.com).',
            type: 'string',
            format: 'runtime-client',
          },
          default: ['127.0.0.1', '::1'],
        },
        advertise_url: {
          description:
            "Base URL at which the other instances of a cluster (state.driver: postgresql) reach this instance's runtime API, e.g. https://proxy1.example.com:8443; registered in its heartbeat row, so that drain, maintenance and enable apply to every instance. Default: the first listener (HTTP before HTTPS) on its bind address, or on this machine's host name when it listens on every address. The other instances must be in runtime_api.allow (their address or certificate CN).",
          type: 'string',
          format: 'http-base-url',
        },
      },
    },
    rex: rexSchema,
    health_check: {
      description: 'Active health checks of every backend (GET /version).',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        interval_ms: integer('Time between two checks of one backend, ms.', 1, 2000),
        timeout_ms: integer('Time a backend has to accept the connection of a check, and then to answer it, before the check counts as failed, ms.', 1, 1000),
        rise: integer('Consecutive good checks before a down backend is up again.', 1, 2),
        fall: integer('Consecutive failed checks before an up backend is down.', 1, 3),
      },
    },
    passive_ejection: {
      description:
        'Ejection of a backend on failures seen in live traffic; the ejection doubles on each repeat and decays again while the backend stays healthy. Requests in flight to a backend when it is ejected (or its health checks mark it down) stop waiting at once.',
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        consecutive_failures: integer('Consecutive failed live calls that eject a backend.', 1, 5),
        base_ejection_ms: integer('Length of the first ejection, ms.', 1, 10000),
        max_ejection_ms: integer('Longest ejection, ms; at least base_ejection_ms.', 1, 300000),
        decay_after_ms: integer(
          'The back-off steps down again (halves) for each period of this length the backend spends healthy (checks passing, not ejected), as in Envoy\'s outlier detection: a backend that flapped and then stayed up is soon ejected for base_ejection_ms again, not for max_ejection_ms, ms.',
          1,
          60000,
        ),
      },
    },
    backends: {
      description:
        "The real smart proxies, by name (letters, digits, '_', '.', '-'). Required unless every feature is answered locally.",
      type: 'object',
      default: {},
      propertyNames: { pattern: BACKEND_NAME_PATTERN },
      additionalProperties: backendSchema,
    },
    features: {
      description: `Smart-proxy features offered to Foreman, by name (${configurableFeatures().map((m) => m.name).join(', ')}). Features not listed are not offered.`,
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(configurableFeatures().map((m) => [m.name, featureSchema(m)])),
    },
  },
};
