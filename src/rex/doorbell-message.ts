// The MQTT messages a host's yggdrasil receives (docs/protocol/rex-pull.md §2.3), typed as its
// Go client demands: `version` an integer, `sent` RFC 3339, `metadata` strings only, `content` a URL.
// Each doorbell carries its own nonce in both URLs: the first fetch fixes which one is accepted,
// so a host that got two doorbells (a resend crossing a slow fetch) cannot start a second run
// whose updates would be taken for the first's (docs/protocol/rex-pull.md §5.6).
import { randomUUID } from 'node:crypto';
import type { DoorbellTarget } from '../state/job-store.js';

export const TOPIC_PREFIX = 'yggdrasil';
/** Query parameter carrying a doorbell's nonce in the job and update URLs. */
export const DELIVERY_PARAM = 'delivery';

export interface DataMessage {
  type: 'data';
  message_id: string;
  version: number;
  sent: string;
  directive: string;
  content: string;
  metadata: Record<string, string>;
}

export function dataTopic(host: string): string {
  return `${TOPIC_PREFIX}/${host}/data/in`;
}

/** RFC 3339 without fractions, as the smart proxy writes it (Go parses both). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function jobUrl(job: Pick<DoorbellTarget, 'baseUrl' | 'jobUuid'>): string {
  return `${job.baseUrl}/ssh/jobs/${job.jobUuid}`;
}

export function startMessage(job: DoorbellTarget, nonce: string, now: number): DataMessage {
  const query = `?${DELIVERY_PARAM}=${nonce}`;
  return {
    type: 'data',
    message_id: randomUUID(),
    version: 1,
    sent: rfc3339(now),
    directive: 'foreman',
    content: `${jobUrl(job)}${query}`,
    metadata: {
      event: 'start',
      job_uuid: job.jobUuid,
      return_url: `${jobUrl(job)}/update${query}`,
      version: 'v1',
      // null would arrive as "" anyway (string-only map); say so explicitly.
      effective_user: job.effectiveUser ?? '',
    },
  };
}

export function cancelMessage(job: DoorbellTarget, now: number): DataMessage {
  return {
    type: 'data',
    message_id: randomUUID(),
    version: 1,
    sent: rfc3339(now),
    directive: 'foreman',
    content: `${jobUrl(job)}/cancel`,
    metadata: { event: 'cancel', job_uuid: job.jobUuid },
  };
}
