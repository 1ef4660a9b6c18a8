import { describe, it, expect } from '@jest/globals';
import { cancelMessage, dataTopic, rfc3339, startMessage } from '../../src/rex/doorbell-message.js';

const target = { taskId: 't', jobUuid: '5f0c7e4e-1111-4222-8333-444455556666', host: 'c0ffee-uuid', baseUrl: 'https://proxy.example.test:8443', effectiveUser: null, rung: 0 };

describe('doorbell messages', () => {
  it('is the start message yggdrasil decodes: integer version, RFC 3339 sent, string-only metadata', () => {
    const m = startMessage(target, 'n0nce', Date.UTC(2026, 0, 5, 13, 56, 35, 789));
    expect(Object.keys(m)).toEqual(['type', 'message_id', 'version', 'sent', 'directive', 'content', 'metadata']);
    expect(m).toEqual({
      type: 'data',
      message_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      version: 1,
      sent: '2026-01-05T13:56:35Z',
      directive: 'foreman',
      content: 'https://proxy.example.test:8443/ssh/jobs/5f0c7e4e-1111-4222-8333-444455556666?delivery=n0nce',
      metadata: {
        event: 'start',
        job_uuid: target.jobUuid,
        return_url: 'https://proxy.example.test:8443/ssh/jobs/5f0c7e4e-1111-4222-8333-444455556666/update?delivery=n0nce',
        version: 'v1',
        effective_user: '',
      },
    });
    expect(Number.isInteger(m.version)).toBe(true);
    expect(Object.values(m.metadata).every((v) => typeof v === 'string')).toBe(true);
    expect(Number.isNaN(Date.parse(m.sent))).toBe(false);
    expect(startMessage({ ...target, effectiveUser: 'deploy' }, 'x', 0).metadata.effective_user).toBe('deploy');
    // Each doorbell its own message id.
    expect(startMessage(target, 'n', 0).message_id).not.toBe(startMessage(target, 'n', 0).message_id);
  });

  it('is the cancel message REX sends', () => {
    const m = cancelMessage(target, 0);
    expect(m).toEqual({
      type: 'data',
      message_id: expect.any(String),
      version: 1,
      sent: '1970-01-01T00:00:00Z',
      directive: 'foreman',
      content: `https://proxy.example.test:8443/ssh/jobs/${target.jobUuid}/cancel`,
      metadata: { event: 'cancel', job_uuid: target.jobUuid },
    });
  });

  it('goes to yggdrasil/<host>/data/in', () => {
    expect(dataTopic('c0ffee-uuid')).toBe('yggdrasil/c0ffee-uuid/data/in');
    expect(rfc3339(1_000)).toBe('1970-01-01T00:00:01Z');
  });
});
