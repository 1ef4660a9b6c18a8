import { describe, it, expect } from '@jest/globals';
import { isRefusal, parseLaunch, parseTrigger, RUN_SCRIPT, type LaunchLimits } from '../../src/rex/launch-input.js';

const limits: LaunchLimits = { maxScriptBytes: 100, timeToPickup: 86400, executionTimeout: null };
const input = (over: Record<string, unknown> = {}) => ({
  callback: { task_id: 'ft-1', step_id: 3 },
  script: 'echo hi\r\n',
  hostname: '192.0.2.1',
  alternative_names: { fqdn: 'web.example.test' },
  effective_user: 'root',
  proxy_url: 'https://proxy.example.test:8443/',
  secrets: { ssh_password: 'x' },
  ...over,
});
const batch = (actionInput: unknown, actionClass: unknown = RUN_SCRIPT) =>
  Buffer.from(JSON.stringify({ operation: 'ssh', options: {}, input: { 'a1b2c3d4-0000-4000-8000-000000000001': { action_class: actionClass, action_input: actionInput } } }));

describe('launch input', () => {
  it('reads a batch child as PullScript does: CRs stripped, host identity, callback, URL base', () => {
    const r = parseLaunch(batch(input()), limits);
    if (isRefusal(r) || r.operation !== 'ssh') throw new Error(JSON.stringify(r));
    expect(r.children).toHaveLength(1);
    const { taskId, job } = r.children[0]!;
    expect(taskId).toBe('a1b2c3d4-0000-4000-8000-000000000001');
    expect(job).toMatchObject({
      host: 'web.example.test',
      callback: { task_id: 'ft-1', step_id: 3 },
      script: 'echo hi\n',
      effectiveUser: 'root',
      baseUrl: 'https://proxy.example.test:8443',
      timeToPickup: 86400,
      executionTimeout: null,
    });
    // Neither the script nor the secrets are echoed in status answers.
    expect(job.input).not.toHaveProperty('script');
    expect(job.input).not.toHaveProperty('secrets');
    expect(job.input).toHaveProperty('hostname', '192.0.2.1');
  });

  it('takes consumer_uuid before fqdn before hostname', () => {
    const host = (alt: Record<string, unknown>, hostname = 'h') => {
      const r = parseLaunch(batch(input({ alternative_names: alt, hostname })), limits);
      return !isRefusal(r) && r.operation === 'ssh' ? r.children[0]!.job.host : r;
    };
    expect(host({ consumer_uuid: 'c0ffee', fqdn: 'f.example.test' })).toBe('c0ffee');
    expect(host({ fqdn: 'f.example.test' })).toBe('f.example.test');
    expect(host({}, 'plain-host')).toBe('plain-host');
  });

  it('reads seconds given as numbers or strings; 0 and null mean "none"', () => {
    const r = (over: Record<string, unknown>) => {
      const x = parseLaunch(batch(input(over)), { ...limits, executionTimeout: 600 });
      return !isRefusal(x) && x.operation === 'ssh' ? x.children[0]!.job : x;
    };
    expect(r({ time_to_pickup: '30', execution_timeout_interval: 5 })).toMatchObject({ timeToPickup: 30, executionTimeout: 5 });
    expect(r({ time_to_pickup: null, execution_timeout_interval: null })).toMatchObject({ timeToPickup: 86400, executionTimeout: 600 });
    expect(r({ execution_timeout_interval: 0 })).toMatchObject({ executionTimeout: null });
    expect(r({ time_to_pickup: 'soon' })).toEqual({ status: 400, error: expect.stringMatching(/time_to_pickup must be a number of seconds/) });
  });

  it('builds URLs on rex.proxy_url when configured, whatever Foreman sent', () => {
    const r = parseLaunch(batch(input({ proxy_url: undefined })), { ...limits, proxyUrl: 'https://vip.example.test:9090' });
    expect(!isRefusal(r) && r.operation === 'ssh' && r.children[0]!.job.baseUrl).toBe('https://vip.example.test:9090');
  });

  it.each([
    [batch(input(), 'Other::Action'), 422, /unknown action class 'Other::Action'/],
    [batch(input(), null), 400, /action_class is required/],
    [batch('nope'), 400, /action_input must be an object/],
    [batch(input({ script: 42 })), 400, /script is required/],
    [batch(input({ script: 'é'.repeat(51) })), 413, /102 bytes, more than rex.max_script_bytes \(100\)/],
    [batch(input({ callback: { step_id: 1 } })), 400, /callback must be/],
    [batch(input({ effective_user: 7 })), 400, /effective_user must be a string/],
    [batch(input({ proxy_url: 'ftp://x' })), 400, /proxy_url must be an http\(s\) URL/],
    [Buffer.from('{"operation":"ssh","input":{"../etc":{}}}'), 400, /is not a task id/],
    [Buffer.from('{"operation":"ssh","input":{"t1":[]}}'), 400, /input\['t1'\] must be an object/],
    [Buffer.from('{"operation":"single","input":[]}'), 400, /'input' must be an object/],
    [Buffer.from('{"operation":"group","input":{}}'), 404, /^Unknown operation 'group' requested\.$/],
  ])('refuses %#', (body, status, message) => {
    const r = parseLaunch(body as Buffer, limits);
    expect(isRefusal(r) && [r.status, r.error]).toEqual([status, expect.stringMatching(message)]);
  });

  it('reads a single launch and the legacy trigger', () => {
    const single = parseLaunch(Buffer.from(JSON.stringify({ operation: 'single', input: { action_class: RUN_SCRIPT, action_input: input() } })), limits);
    expect(!isRefusal(single) && single.operation).toBe('single');
    const trigger = parseTrigger(Buffer.from(JSON.stringify({ action_name: RUN_SCRIPT, action_input: input() })), limits);
    expect(isRefusal(trigger)).toBe(false);
    expect(parseTrigger(Buffer.from(JSON.stringify({ action_name: 'X', action_input: input() })), limits)).toEqual({
      status: 422,
      error: expect.stringMatching(/request.action_name: unknown action class 'X'/),
    });
  });
});
