import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { checkConfigCommand } from '../../src/config/check-config.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

function run(file: string): { status: number; out: string; err: string } {
  const out = new Capture();
  const err = new Capture();
  const status = checkConfigCommand(file, out, err);
  return { status, out: out.text, err: err.text };
}

describe('checkConfigCommand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pp-check-'));
  const write = (name: string, text: string) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('prints OK and a one-line summary for a valid file, exit 0', () => {
    const file = write(
      'good.yaml',
      [
        'bind_host: [127.0.0.1, "::1"]',
        'http_port: 8000',
        'backends: {a: {url: "http://a:1"}, b: {url: "http://b:1"}}',
        'features:',
        '  tftp:',
        '  dns: {order: round_robin}',
        '  puppetca: {backends: [b]}',
        '  logs:',
      ].join('\n'),
    );
    const { status, out, err } = run(file);
    expect(status).toBe(0);
    expect(err).toBe('');
    expect(out).toBe(
      `${file}: OK\n` +
        'listeners: http 127.0.0.1:8000 [::1]:8000; backends: a, b; ' +
        'features: tftp replicate, dns failover (round robin), puppetca primary (b), logs local\n',
    );
  });

  it('prints every problem on its own line to err, exit 1', () => {
    const file = write('bad.yaml', ['http_port: 8000', 'features:', '  dns: {policy: sometimes}', '  tfpt:'].join('\n'));
    const { status, out, err } = run(file);
    expect(status).toBe(1);
    expect(out).toBe('');
    expect(err.split('\n')).toEqual([
      `${file}: 3 problems`,
      'backends: at least one backend is needed: dns forwards requests to backends (line 1)',
      'features.dns.policy: must be one of replicate, failover, primary (line 3)',
      "features.tfpt: unknown feature 'tfpt' (did you mean 'tftp'?) (line 4)",
      '',
    ]);
  });

  it('exits 2 when the file cannot be read', () => {
    const file = join(dir, 'nope.yaml');
    const { status, out, err } = run(file);
    expect(status).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot read: .*ENOENT`));
  });
});
