// The byte-level pieces of the simulated worker and yggd: update encoding, chunking, batching
// thresholds, message checks and the command line.
import { describe, it, expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { parseDataMessage, rewriteDataHost } from '../../src/sim/host/messages.js';
import { parseSimHostArgs, UsageError } from '../../src/sim/host/options.js';
import { chunkOutput, encodeV1, exitUpdate, goString, rfc3339, UpdateAggregator, type V1Update } from '../../src/sim/host/updates.js';
import { SIM_HOST_MAIN } from './sim-host-process.js';

const run = promisify(execFile);

describe('v1 updates as foreman_ygg_worker writes them', () => {
  it('timestamps are RFC 3339 in whole seconds', () => {
    expect(rfc3339(new Date())).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/);
  });

  it('splits a read into 4096-byte chunks and marks a cut multi-byte character per byte, as Go does', () => {
    const euro = Buffer.from('€'); // 3 bytes
    const data = Buffer.concat([Buffer.alloc(4095, 'x'), euro]);
    const chunks = chunkOutput('stdout', data);
    expect(chunks).toHaveLength(2);
    expect((chunks[0] as { content: string }).content).toBe('x'.repeat(4095) + '\ufffd');
    expect((chunks[1] as { content: string }).content).toBe('\ufffd\ufffd');
    expect(goString(Buffer.from('naïve €'))).toBe('naïve €');
  });

  it('encodes with Go field order and HTML-safe escaping', () => {
    const u: V1Update = { timestamp: '2026-01-05T14:56:35Z', type: 'output', content: '<a&b>', stream: 'stdout' };
    expect(encodeV1([u, { timestamp: '2026-01-05T14:56:36Z', type: 'exit', exit_code: 3 }])).toBe(
      '{"version":"1","updates":[{"timestamp":"2026-01-05T14:56:35Z","type":"output","content":"\\u003ca\\u0026b\\u003e","stream":"stdout"},' +
        '{"timestamp":"2026-01-05T14:56:36Z","type":"exit","exit_code":3}]}',
    );
  });

  it('sends when the batch is full, when the interval passed at the next update, and on exit', async () => {
    const sent: number[][] = [];
    let n = 0;
    const out = (): V1Update => ({ timestamp: rfc3339(), type: 'output', content: String(++n), stream: 'stdout' });
    const agg = new UpdateAggregator({
      batchSize: 3,
      batchSeconds: 0.2,
      send: async (updates) => void sent.push(updates.map((u) => (u.type === 'exit' ? -u.exit_code : Number(u.content)))),
    });
    for (let i = 0; i < 4; i++) agg.add(out()); // 1,2,3 full; 4 waits
    await agg.idle();
    expect(sent).toEqual([[1, 2, 3]]);
    await new Promise((r) => setTimeout(r, 300));
    await agg.idle();
    expect(sent).toHaveLength(1); // no timer: the interval is only checked as an update arrives
    agg.add(out()); // 5: more than 0.2 s since the last send
    agg.add(out()); // 6
    agg.add(exitUpdate(7));
    await agg.idle();
    expect(sent).toEqual([[1, 2, 3], [4, 5], [6, -7]]);
  });
});

describe('data messages as yggd checks them', () => {
  const good = {
    type: 'data',
    message_id: 'm1',
    version: 1,
    sent: '2026-01-05T14:56:35+01:00',
    directive: 'foreman',
    content: 'https://proxy.example.test:9090/ssh/jobs/j1',
    metadata: { event: 'start', job_uuid: 'j1', effective_user: null },
  };
  const parse = (over: Record<string, unknown>) => parseDataMessage(Buffer.from(JSON.stringify({ ...good, ...over })));

  it('accepts REX start messages; null metadata values become ""', () => {
    const r = parse({});
    expect(r).toMatchObject({ ok: true, message: { metadata: { effective_user: '', job_uuid: 'j1' } } });
  });

  it.each([
    [{ version: '1' }, 'version is not an integer'],
    [{ sent: 'yesterday' }, 'sent is not an RFC 3339 time'],
    [{ metadata: { job_uuid: 7 } }, 'metadata.job_uuid is not a string'],
    [{ directive: 'rhc-worker-playbook' }, 'no worker for directive "rhc-worker-playbook"'],
    [{ content: { script: 'x' } }, 'content is not a URL string'],
    [{ type: 'command' }, 'type is "command", not "data"'],
  ])('rejects %j', (over, reason) => {
    expect(parse(over)).toEqual({ ok: false, reason });
  });

  it('data-host replaces host and port only', () => {
    expect(rewriteDataHost('https://proxy.example.test:9090/ssh/jobs/j1/update', '127.0.0.1:8443')).toBe('https://127.0.0.1:8443/ssh/jobs/j1/update');
  });
});

describe('sim-host command line', () => {
  it('parses the options and refuses bad combinations', () => {
    const o = parseSimHostArgs(['--broker', 'mqtts://127.0.0.1:1883', '--cert-dir', 'certs', '--hosts', '5', '--json-events']);
    expect(o).toMatchObject({ hosts: 5, namePrefix: 'host', concurrency: 32, batchSize: 32, batchSeconds: 15, yggd: '0.4', jsonEvents: true });
    expect(() => parseSimHostArgs(['--cert-dir', 'x'])).toThrow(UsageError);
    expect(() => parseSimHostArgs(['--broker', 'http://x', '--cert-dir', 'x'])).toThrow('mqtt:// or mqtts://');
    expect(() => parseSimHostArgs(['--broker', 'mqtt://x', '--cert-dir', 'x', '--mqtt-cert', 'c'])).toThrow('go together');
  });

  it('is reachable as `proxy-proxy sim-host`', async () => {
    const cli = join(dirname(dirname(SIM_HOST_MAIN)), '..', 'cli.js');
    const { stdout } = await run(process.execPath, [cli, 'sim-host', '--help']);
    expect(stdout).toContain('usage: sim-host --broker URL --cert-dir DIR');
    const failed = await run(process.execPath, [SIM_HOST_MAIN, '--hosts', '2']).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringContaining('--broker is required') });
  });
});
