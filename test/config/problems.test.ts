import { describe, it, expect } from '@jest/globals';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { problemsOf, yaml } from './problems-of.js';

// A valid head for files that test one mistake further down.
const head = ['http_port: 8000', 'backends:', '  a: {url: "http://a:8000"}', '  b: {url: "http://b:8000"}'];

describe('a file with several mistakes', () => {
  const text = yaml(
    /* 1 */ 'bind_hots: 0.0.0.0',
    /* 2 */ 'http_port: 70000',
    /* 3 */ 'https_port: 8443',
    /* 4 */ 'ssl_certificate: /etc/pp/cert.pem',
    /* 5 */ 'log_level: verbose',
    /* 6 */ 'health_check:',
    /* 7 */ '  interval_ms: fast',
    /* 8 */ 'backends:',
    /* 9 */ '  a:',
    /* 10 */ '    url: https://a.example.com:8443/proxy',
    /* 11 */ '  b:',
    /* 12 */ '    connect_timeout_ms: 500',
    /* 13 */ 'features:',
    /* 14 */ '  tftp:',
    /* 15 */ '    policy: mirror',
    /* 16 */ '  dhcp:',
    /* 17 */ '    backends:',
    /* 18 */ '      - a',
    /* 19 */ '      - c',
    /* 20 */ '  dsn: {}',
  );

  it('reports every one of them, in file order, with path and line', () => {
    expect(problemsOf(text)).toEqual([
      "bind_hots: unknown key 'bind_hots' (did you mean 'bind_host'?) (line 1)",
      'http_port: must be at most 65535 (line 2)',
      "https_port: requires 'ssl_private_key' and 'ssl_ca_file' to be set as well (line 3)",
      'log_level: must be one of DEBUG, INFO, WARN, ERROR (line 5)',
      'health_check.interval_ms: must be an integer (line 7)',
      "backends.a.url: must be an http:// or https:// URL without a path (other than '/'), query or fragment (line 10)",
      "backends.b.url: missing required key 'url' (line 11)",
      'features.tftp.policy: must be one of replicate, failover, primary (line 15)',
      "features.dhcp.backends[1]: unknown backend 'c' (configured: a, b) (line 19)",
      "features.dsn: unknown feature 'dsn' (did you mean 'dns'?) (line 20)",
    ]);
  });

  it('throws one ConfigError whose message is the problems, one per line', () => {
    let caught: unknown;
    try {
      parseConfig(text, 'bad.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.problems).toHaveLength(10);
    expect(error.problems[7]).toEqual({
      path: 'features.tftp.policy',
      message: 'must be one of replicate, failover, primary',
      line: 15,
    });
    expect(error.source).toBe('bad.yaml');
    expect(error.message.split('\n')).toEqual(problemsOf(text));
  });
});

describe('single mistakes', () => {
  it('unknown key, nested', () => {
    expect(problemsOf(yaml(...head, 'features: {dns: }', 'passive_ejection:', '  consecutive_failure: 3'))).toEqual([
      "passive_ejection.consecutive_failure: unknown key 'consecutive_failure' (did you mean 'consecutive_failures'?) (line 7)",
    ]);
  });

  it('unknown feature name', () => {
    expect(problemsOf(yaml(...head, 'features:', '  kerberos:'))).toEqual([
      "features.kerberos: unknown feature 'kerberos' (known features: tftp, dhcp, dns, templates, registration, puppetca, puppet, realm, bmc, httpboot, facts, logs, dynflow, script, ansible, openscap) (line 6)",
    ]);
  });

  it('bad policy', () => {
    expect(problemsOf(yaml(...head, 'features:', '  dns: {policy: active}'))).toEqual([
      'features.dns.policy: must be one of replicate, failover, primary (line 6)',
    ]);
  });

  it('unknown backend reference, with a suggestion', () => {
    expect(problemsOf(yaml(...head, 'features:', '  dns:', '    backends: [a, proxy-b]'))).toEqual([
      "features.dns.backends[1]: unknown backend 'proxy-b' (configured: a, b) (line 7)",
    ]);
    expect(
      problemsOf(yaml('http_port: 1', 'backends: {proxy1: {url: "http://p:1"}}', 'features: {dns: {backends: [proxyl]}}')),
    ).toEqual(["features.dns.backends[0]: unknown backend 'proxyl' (did you mean 'proxy1'?) (line 3)"]);
  });

  it('a backend listed twice in one feature', () => {
    expect(problemsOf(yaml(...head, 'features:', '  tftp:', '    backends:', '      - a', '      - b', '      - a'))).toEqual([
      "features.tftp.backends[2]: 'a' is listed twice (also at [0]) (line 10)",
    ]);
  });

  it('https_port without the certificate files', () => {
    expect(problemsOf(yaml('https_port: 8443', 'features: {logs: }'))).toEqual([
      "https_port: requires 'ssl_certificate', 'ssl_private_key' and 'ssl_ca_file' to be set as well (line 1)",
    ]);
  });

  it('a backend client certificate without its key', () => {
    expect(
      problemsOf(yaml('http_port: 1', 'backends:', '  a:', '    url: https://a:8443', '    ssl_certificate: c.pem', 'features: {dns: }')),
    ).toEqual(["backends.a.ssl_certificate: requires 'ssl_private_key' to be set as well (line 5)"]);
  });

  it('bad URLs', () => {
    expect(
      problemsOf(
        yaml('http_port: 1', 'foreman_url: foreman.example.com', 'backends:', '  a: {url: "ftp://a"}', 'features: {dns: }'),
      ),
    ).toEqual([
      'foreman_url: must be an http:// or https:// URL (line 2)',
      "backends.a.url: must be an http:// or https:// URL without a path (other than '/'), query or fragment (line 4)",
    ]);
  });

  it('templates and registration relayed by proxy-proxy: need foreman_url, a template_url, URLs, no backends', () => {
    expect(problemsOf(yaml('http_port: 1', 'features:', '  templates: {}', '  registration: {}'))).toEqual([
      "features.templates: needs foreman_url: proxy-proxy relays templates requests to Foreman itself (line 3)",
      "features.templates.settings: needs template_url: the URL hosts fetch templates from (proxy-proxy's VIP or name), passed to Foreman with every template request (line 3)",
      "features.registration: needs foreman_url: proxy-proxy relays registration requests to Foreman itself (line 4)",
    ]);
    expect(
      problemsOf(
        yaml(
          'http_port: 1',
          'foreman_url: https://foreman.example.com',
          'foreman_ssl_cert: c.pem',
          'features:',
          '  templates: {policy: failover, settings: {template_url: proxy.example.com}}',
          '  registration: {settings: {registration_url: "ftp://proxy"}}',
        ),
      ),
    ).toEqual([
      "foreman_ssl_cert: requires 'foreman_ssl_key' to be set as well (line 3)",
      "features.templates.policy: feature 'templates' is answered by proxy-proxy itself and takes no policy (line 5)",
      'features.templates.settings.template_url: must be an http:// or https:// URL (line 5)',
      'features.registration.settings.registration_url: must be an http:// or https:// URL (line 6)',
    ]);
  });

  it('settings override the feature does not expose', () => {
    expect(problemsOf(yaml(...head, 'features:', '  tftp:', '    settings:', '      tftp_server: tftp.example.com'))).toEqual([
      "features.tftp.settings.tftp_server: feature 'tftp' does not expose setting 'tftp_server' (did you mean 'tftp_servername'?) (line 8)",
    ]);
    expect(problemsOf(yaml(...head, 'features:', '  dhcp: {settings: {server: x}}'))).toEqual([
      "features.dhcp.settings.server: feature 'dhcp' does not expose setting 'server' (it exposes no settings) (line 6)",
    ]);
  });

  it('backends on a local-only feature', () => {
    expect(problemsOf(yaml(...head, 'features:', '  logs:', '    backends: [a]'))).toEqual([
      "features.logs.backends: feature 'logs' is answered by proxy-proxy itself and takes no backends (line 7)",
    ]);
  });

  it('port 0 (any free port) is accepted, also on both listeners', () => {
    const config = parseConfig(yaml('http_port: 0', 'https_port: 0', 'ssl_certificate: c', 'ssl_private_key: k', 'ssl_ca_file: ca', 'features: {logs: }'));
    expect([config.http_port, config.https_port]).toEqual([0, 0]);
    expect(problemsOf(yaml('http_port: -1', 'features: {logs: }'))).toEqual(['http_port: must be at least 0 (line 1)']);
  });

  it('no listener at all', () => {
    expect(problemsOf(yaml('features: {logs: }'))).toEqual([
      "(top level): needs at least one of 'http_port' or 'https_port' (line 1)",
    ]);
  });

  it('no backends for features that need them', () => {
    expect(problemsOf(yaml('http_port: 8000', 'features:', '  dns:', '  dhcp:'))).toEqual([
      'backends: at least one backend is needed: dns, dhcp forward requests to backends (line 1)',
    ]);
  });

  it('missing features', () => {
    expect(problemsOf(yaml('http_port: 8000'))).toEqual(["features: missing required key 'features' (line 1)"]);
  });

  it('bad backend name', () => {
    expect(problemsOf(yaml('http_port: 1', 'backends:', '  "proxy 1": {url: "http://p:1"}', 'features: {logs: }'))).toEqual([
      `backends["proxy 1"]: invalid name: may only contain letters, digits, '_', '.' and '-' (line 3)`,
    ]);
  });

  it('wrong types say what was expected', () => {
    expect(problemsOf(yaml('http_port: "8000"', 'bind_host: {a: 1}', 'forward_verify: yes', 'features: []'))).toEqual([
      'http_port: must be an integer (line 1)',
      'bind_host: must be a string or a list (line 2)',
      'forward_verify: must be true or false (line 3)',
      'features: must be a mapping (line 4)',
    ]);
  });

  it('rules relating two keys', () => {
    expect(
      problemsOf(
        yaml(
          ...head,
          'https_port: 8000',
          'ssl_certificate: c',
          'ssl_private_key: k',
          'ssl_ca_file: ca',
          'health_check: {interval_ms: 500, timeout_ms: 1000}',
          'passive_ejection: {base_ejection_ms: 60000, max_ejection_ms: 30000}',
          'features:',
          '  tftp: {order: round_robin}',
          '  dns: {enabled: http}',
          '  bmc: {enabled: nope}',
        ),
      ),
    ).toEqual([
      'https_port: must differ from http_port (8000) (line 5)',
      'passive_ejection.max_ejection_ms: must be at least base_ejection_ms (60000) (line 10)',
      "features.tftp.order: round_robin only applies to policy failover (this feature's policy is replicate) (line 12)",
      'features.bmc.enabled: must be one of true, false, http, https (line 14)',
    ]);
  });

  it('the postgresql state driver needs a url and an external MQTT broker, and says why', () => {
    const problems = problemsOf(
      yaml(...head, 'features: {tftp: {}}', 'foreman_url: https://foreman.example.com', 'state: {driver: postgresql}', 'rex: {enabled: true, proxy_url: https://proxy.example.com:8443}'),
    );
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^state\.url: is needed with driver: postgresql/);
    expect(problems[1]).toMatch(/^rex\.mqtt\.broker: must be an external broker .*embedded broker lives inside one instance/);
    // With a url and an external broker it is accepted.
    expect(() =>
      problemsOf(
        yaml(
          ...head,
          'features: {tftp: {}}',
          'foreman_url: https://foreman.example.com',
          'state: {driver: postgresql, url: "postgresql://pp@db.example.com/pp"}',
          'rex: {enabled: true, proxy_url: https://proxy.example.com:8443, mqtt: {broker: "mqtts://broker.example.com:8883"}}',
        ),
      ),
    ).toThrow('expected the configuration to be refused');
  });

  it("a feature enabled only on a listener that isn't configured", () => {
    expect(problemsOf(yaml(...head, 'features:', '  dns: {enabled: https}'))).toEqual([
      "features.dns.enabled: is 'https' but https_port is not set (line 6)",
    ]);
  });
});

describe('state and convergence settings', () => {
  it('a drift schedule that is not a cron expression', () => {
    expect(problemsOf(yaml(...head, 'drift:', '  schedule: "0 25 * * *"', '  repair: maybe', 'features: {logs: }'))).toEqual([
      'drift.schedule: is not a valid cron expression (line 6)',
      'drift.repair: must be true or false (line 7)',
    ]);
    expect(problemsOf(yaml(...head, 'drift: {schedule: every night}', 'features: {logs: }'))).toEqual([
      'drift.schedule: is not a valid cron expression (line 5)',
    ]);
    expect(problemsOf(yaml(...head, 'drift: {schedule: 3}', 'features: {logs: }'))).toEqual([
      'drift.schedule: must be a string or empty (line 5)',
    ]);
  });

  it('compensation_retry.max_ms below base_ms, and out of range', () => {
    expect(problemsOf(yaml(...head, 'compensation_retry:', '  base_ms: 5000', '  max_ms: 1000', 'features: {logs: }'))).toEqual([
      'compensation_retry.max_ms: must be at least base_ms (5000) (line 7)',
    ]);
    // Against the default base_ms too.
    expect(problemsOf(yaml(...head, 'compensation_retry: {max_ms: 500}', 'features: {logs: }'))).toEqual([
      'compensation_retry.max_ms: must be at least base_ms (1000) (line 5)',
    ]);
    expect(problemsOf(yaml(...head, 'compensation_retry: {base_ms: 0, retries: 3}', 'features: {logs: }'))).toEqual([
      "compensation_retry.retries: unknown key 'retries' (line 5)",
      'compensation_retry.base_ms: must be at least 1 (line 5)',
    ]);
  });

  it('an empty or non-string state_dir', () => {
    expect(problemsOf(yaml(...head, 'state_dir: ""', 'features: {logs: }'))).toEqual(['state_dir: must not be empty (line 5)']);
    expect(problemsOf(yaml(...head, 'state_dir: [a]', 'features: {logs: }'))).toEqual(['state_dir: must be a string (line 5)']);
  });

  it('runtime_api.allow entries that are neither an address, a CIDR nor a name', () => {
    expect(
      problemsOf(
        yaml(
          ...head,
          'runtime_api:',
          '  allow:',
          '    - 10.0.0.0/33',
          '    - fd00::/129',
          '    - 10.0.0/8',
          '    - 10.0.0.0/x',
          '    - 10.0.0.256',
          '    - "admin host"',
          '    - "::1"',
          '    - "::1"',
          '    - foreman.example.com',
          '    - 192.168.0.0/16',
          'features: {logs: }',
        ),
      ),
    ).toEqual([
      'runtime_api.allow[0]: is not a valid CIDR: an IPv4 prefix length is at most 32 (got 33) (line 7)',
      'runtime_api.allow[1]: is not a valid CIDR: an IPv6 prefix length is at most 128 (got 129) (line 8)',
      "runtime_api.allow[2]: is not a valid CIDR: '10.0.0' is not an IP address (line 9)",
      "runtime_api.allow[3]: is not a valid CIDR: the prefix length after '/' must be a number (line 10)",
      'runtime_api.allow[4]: must be an IP address, a CIDR such as 10.0.0.0/8 or fd00::/8, or a client-certificate CN (a host name) (line 11)',
      'runtime_api.allow[5]: must be an IP address, a CIDR such as 10.0.0.0/8 or fd00::/8, or a client-certificate CN (a host name) (line 12)',
      "runtime_api.allow[7]: '::1' is listed twice (also at [6]) (line 14)",
    ]);
    expect(problemsOf(yaml(...head, 'runtime_api: {allow: 127.0.0.1}', 'features: {logs: }'))).toEqual([
      'runtime_api.allow: must be a list (line 5)',
    ]);
  });

  it('on_backend_down and min_success set on a feature that does not replicate', () => {
    expect(
      problemsOf(
        yaml(
          ...head,
          'features:',
          '  dhcp:',
          '    on_backend_down: catch_up',
          '    min_success: 1',
          '  puppetca: {on_backend_down: refuse}',
          '  dns: {policy: failover, min_success: 2}',
        ),
      ),
    ).toEqual([
      "features.dhcp.on_backend_down: only applies to policy replicate (this feature's policy is failover) (line 7)",
      "features.dhcp.min_success: only applies to policy replicate (this feature's policy is failover) (line 8)",
      "features.puppetca.on_backend_down: only applies to policy replicate (this feature's policy is primary) (line 9)",
      "features.dns.min_success: only applies to policy replicate (this feature's policy is failover) (line 10)",
    ]);
  });

  it('bad on_backend_down and min_success values', () => {
    expect(problemsOf(yaml(...head, 'features:', '  tftp:', '    on_backend_down: later', '    min_success: 0'))).toEqual([
      'features.tftp.on_backend_down: must be one of refuse, catch_up (line 7)',
      'features.tftp.min_success: must be at least 1 (line 8)',
    ]);
    expect(problemsOf(yaml(...head, 'features:', '  tftp: {min_success: 1.5}'))).toEqual([
      'features.tftp.min_success: must be an integer (line 6)',
    ]);
  });

  it("min_success above the number of the feature's backends", () => {
    expect(
      problemsOf(
        yaml(
          ...head,
          'features:',
          '  tftp: {on_backend_down: catch_up, min_success: 3}',
          '  httpboot: {policy: replicate, backends: [a], min_success: 2}',
        ),
      ),
    ).toEqual([
      "features.tftp.min_success: must be at most the number of this feature's backends (2) (line 6)",
      "features.httpboot.min_success: must be at most the number of this feature's backends (1) (line 7)",
    ]);
  });

  it('on_backend_down and min_success on a local-only feature', () => {
    expect(problemsOf(yaml(...head, 'features:', '  logs:', '    on_backend_down: catch_up', '    min_success: 1'))).toEqual([
      "features.logs.on_backend_down: feature 'logs' is answered by proxy-proxy itself and takes no on_backend_down (line 7)",
      "features.logs.min_success: feature 'logs' is answered by proxy-proxy itself and takes no min_success (line 8)",
    ]);
  });
});

describe('files that are not a configuration at all', () => {
  it('YAML syntax error, with its line', () => {
    expect(problemsOf(yaml('http_port: 8000', 'features:', '  dns: [a, b', 'log_level: INFO'))).toEqual([
      expect.stringMatching(/^\(yaml\): .+ \(line \d\)$/),
    ]);
    expect(problemsOf(yaml('http_port: 8000', 'features:', '  dns:', '   bad: indentation', '  - x'))[0]).toMatch(/\(line 5\)$/);
  });

  it('a key given twice', () => {
    expect(problemsOf(yaml('http_port: 8000', 'features: {logs: }', 'http_port: 8001'))).toEqual([
      '(yaml): Map keys must be unique (line 3)',
    ]);
  });

  it('an empty file', () => {
    expect(problemsOf('')).toEqual([
      '(top level): the file is empty: it needs at least a listener port, backends and features',
    ]);
    expect(problemsOf('# only a comment\n')).toHaveLength(1);
  });

  it('a list instead of a mapping', () => {
    expect(problemsOf(yaml('- http_port: 8000'))).toEqual(['(top level): must be a mapping (line 1)']);
  });
});

describe('YAML-level mistakes', () => {
  it('an alias with no anchor', () => {
    expect(problemsOf(yaml('http_port: 8000', 'features:', '  dns: *defaults'))).toEqual([
      expect.stringMatching(/^\(yaml\): Unresolved alias.*defaults \(line 3\)$/),
    ]);
  });

  it('two documents in one file', () => {
    expect(problemsOf('http_port: 1\n---\nhttp_port: 2\n')).toEqual([
      "(yaml): the file must hold a single YAML document (found another '---') (line 2)",
    ]);
  });
});
