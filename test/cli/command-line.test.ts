// The command line as an operator meets it: every command answers --help, and every bad input
// gets one line on stderr and a non-zero exit status, never a stack trace.
import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../../src/command-line.js';
import { runCli } from '../converge/cli-process.js';

const COMMAND_NAMES = buildProgram().commands.map((c) => c.name());

/** A config whose REX MQTT setup names a client certificate that does not exist. */
function configWithMissingCert(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pp-cli-'));
  const file = join(dir, 'proxy-proxy.yaml');
  writeFileSync(
    file,
    [
      'http_port: 8000',
      `state_dir: ${join(dir, 'state')}`,
      'backends:',
      '  a: { url: "http://127.0.0.1:1" }',
      'features:',
      '  tftp: {}',
      `ssl_certificate: ${join(dir, 'missing.crt')}`,
      `ssl_ca_file: ${join(dir, 'missing-ca.crt')}`,
      '',
    ].join('\n'),
  );
  return file;
}

describe('proxy-proxy command line', () => {
  it('has the commands the README and the tests use', () => {
    expect(COMMAND_NAMES).toEqual(
      expect.arrayContaining(['run', 'check-config', 'schema', 'config-reference', 'mosquitto-config', 'drift', 'status', 'demo', 'sim', 'sim-host', 'version']),
    );
  });

  it.each(COMMAND_NAMES)('%s --help prints its usage and exits 0', async (name) => {
    const r = await runCli([name, '--help']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: (proxy-proxy )?${name}\\b`, 'i'));
  });

  it('help COMMAND is the same as COMMAND --help', async () => {
    const [a, b] = await Promise.all([runCli(['help', 'drift']), runCli(['drift', '--help'])]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toContain('--repair');
  });

  const badInputs: Array<[string, () => string[], RegExp]> = [
    ['an unknown command', () => ['frob'], /^proxy-proxy: unknown command 'frob'/],
    ['an unknown option', () => ['drift', '--bogus'], /^proxy-proxy: unknown option '--bogus'/],
    ['a mistyped option', () => ['status', '--jsn'], /unknown option '--jsn' \(Did you mean --json\?\)/],
    ['a missing argument', () => ['check-config'], /missing required argument 'file'/],
    ['a value that is not a port', () => ['mosquitto-config', '--port', 'x'], /--port .*'x' is invalid/],
    ['a bad log format', () => ['run', '--log-format', 'xml'], /--log-format .*'xml' is invalid/],
    ['an option without its value', () => ['drift', '--url'], /option '--url <url>' argument missing/],
    ['a config file that does not exist', () => ['run', '--config', join(tmpdir(), 'no-such-dir', 'x.yaml')], /invalid configuration: .*cannot read/],
    ['mosquitto-config with a missing certificate file', () => ['mosquitto-config', '--config', configWithMissingCert()], /^proxy-proxy: cannot read the certificate .*missing\.crt: ENOENT$/m],
    ['an unknown sim option', () => ['sim', '--frob'], /^sim: /],
  ];

  it.each(badInputs)('%s: one line on stderr, non-zero exit, no stack trace', async (_what, args, message) => {
    const r = await runCli(args());
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
