import { describe, it, expect } from '@jest/globals';
import { parseUpdate } from '../../src/rex/update-body.js';

const parse = (doc: unknown) => parseUpdate(Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc)));

describe('host update bodies', () => {
  it('reads the v1 batch foreman_ygg_worker sends, in order', () => {
    expect(
      parse({
        version: '1',
        updates: [
          { type: 'output', timestamp: '2026-01-05T14:56:35+01:00', stream: 'stdout', content: 'a' },
          { type: 'output', timestamp: '2026-01-05T14:56:35+01:00', stream: 'stderr', content: 'b' },
          { type: 'exit', timestamp: '2026-01-05T14:56:36+01:00', exit_code: 2 },
        ],
      }),
    ).toEqual({
      updates: [
        { kind: 'output', stream: 'stdout', content: 'a', atUs: Date.parse('2026-01-05T13:56:35Z') * 1000 },
        { kind: 'output', stream: 'stderr', content: 'b', atUs: Date.parse('2026-01-05T13:56:35Z') * 1000 },
        { kind: 'exit', code: 2, atUs: Date.parse('2026-01-05T13:56:36Z') * 1000 },
      ],
    });
  });

  it('accepts an exit without timestamp, a numeric version and exit codes given as strings', () => {
    expect(parse({ version: 1, updates: [{ type: 'exit', exit_code: '-1' }] })).toEqual({ updates: [{ kind: 'exit', code: -1 }] });
  });

  it('reads the legacy unversioned body, one output per line', () => {
    expect(parse({ output: ['x', 'y'], type: 'stderr', exit_code: 0 })).toEqual({
      updates: [
        { kind: 'output', stream: 'stderr', content: 'x' },
        { kind: 'output', stream: 'stderr', content: 'y' },
        { kind: 'exit', code: 0 },
      ],
    });
    expect(parse({ output: 'z' })).toEqual({ updates: [{ kind: 'output', stream: 'stdout', content: 'z' }] });
    // YW's README names exit_status; the proxy ignores it, and so do we.
    expect(parse({ exit_status: 1 })).toEqual({ updates: [] });
  });

  it.each([
    ['{', /not valid JSON/],
    ['"text"', /must be a JSON object/],
    [{ version: '1' }, /'updates' must be an array/],
    [{ version: '1', updates: [3] }, /updates\[0\] must be an object/],
    [{ version: '1', updates: [{ type: 'output', content: 1 }] }, /content must be a string/],
    [{ version: '1', updates: [{ type: 'exit', exit_code: 1.5 }] }, /exit_code must be an integer/],
    [{ version: '1', updates: [{ type: 'exit' }] }, /exit_code must be an integer/],
    [{ output: [1] }, /output\[0\] must be a string/],
    [{ exit_code: 'x' }, /'exit_code' must be an integer/],
  ])('refuses %j', (doc, message) => {
    const r = parse(doc);
    expect('error' in r && r.error).toMatch(message);
  });
});
