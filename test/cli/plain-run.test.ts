// The command lines cli.ts starts the daemon from without the full parser, and the ones it
// leaves to the parser (help, other commands, values the parser must judge or word).
import { describe, it, expect } from '@jest/globals';
import { plainRunFlags } from '../../src/commands/plain-run.js';
import { DEFAULT_CONFIG_FILE } from '../../src/config/load.js';

describe('plain run command lines', () => {
  it('takes run (or no command) with --config and --log-format in their usual spellings', () => {
    expect(plainRunFlags([])).toEqual({ config: DEFAULT_CONFIG_FILE });
    expect(plainRunFlags(['run'])).toEqual({ config: DEFAULT_CONFIG_FILE });
    expect(plainRunFlags(['run', '--config', '/etc/x.yaml', '--log-format', 'json'])).toEqual({ config: '/etc/x.yaml', logFormat: 'json' });
    expect(plainRunFlags(['--config=/etc/x.yaml', '--log-format=text'])).toEqual({ config: '/etc/x.yaml', logFormat: 'text' });
    expect(plainRunFlags(['run', '-c', 'a.yaml', '-c', 'b.yaml'])).toEqual({ config: 'b.yaml' });
  });

  it('leaves everything else to the full command line', () => {
    for (const argv of [
      ['--help'],
      ['run', '--help'],
      ['-V'],
      ['check-config', '--config', 'x.yaml'],
      ['status'],
      ['run', 'extra'],
      ['run', '--config'],
      ['run', '--config', '--log-format', 'json'],
      ['run', '--config='],
      ['run', '--log-format', 'xml'],
      ['run', '-c=x.yaml'],
      ['run', '--', '--config', 'x.yaml'],
      ['rnu'],
    ]) {
      expect(plainRunFlags(argv)).toBeUndefined();
    }
  });
});
