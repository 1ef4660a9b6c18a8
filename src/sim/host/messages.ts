// The data message on yggdrasil/<id>/data/in (docs/protocol/rex-pull.md §2.3), checked the way
// yggd's Go types check it: a message that would fail to unmarshal there is rejected here too, so a
// proxy that sends e.g. a numeric metadata value or a string version finds out in tests.

export interface DataMessage {
  messageId: string;
  directive: string;
  sent: string;
  /** null metadata values arrive as "" (Go map[string]string). */
  metadata: Record<string, string>;
  /** The URL yggd fetches (detached content). */
  content: string;
}

export type ParseResult = { ok: true; message: DataMessage } | { ok: false; reason: string };

// time.Time's JSON unmarshalling accepts RFC 3339 with optional fractions.
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseDataMessage(payload: Buffer): ParseResult {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, reason: 'not a JSON object' };
  const m = doc as Record<string, unknown>;
  if (m.type !== 'data') return { ok: false, reason: `type is ${JSON.stringify(m.type)}, not "data"` };
  if (typeof m.version !== 'number' || !Number.isInteger(m.version)) return { ok: false, reason: 'version is not an integer' };
  if (typeof m.sent !== 'string' || !RFC3339.test(m.sent)) return { ok: false, reason: 'sent is not an RFC 3339 time' };
  if (typeof m.message_id !== 'string') return { ok: false, reason: 'message_id is not a string' };
  if (typeof m.directive !== 'string') return { ok: false, reason: 'directive is not a string' };
  const metadata: Record<string, string> = {};
  if (m.metadata !== undefined && m.metadata !== null) {
    if (typeof m.metadata !== 'object' || Array.isArray(m.metadata)) return { ok: false, reason: 'metadata is not an object' };
    for (const [k, v] of Object.entries(m.metadata as Record<string, unknown>)) {
      if (v === null) metadata[k] = '';
      else if (typeof v === 'string') metadata[k] = v;
      else return { ok: false, reason: `metadata.${k} is not a string` };
    }
  }
  if (m.directive !== 'foreman') return { ok: false, reason: `no worker for directive ${JSON.stringify(m.directive)}` };
  // The foreman worker takes detached content: yggd reads content as a URL to GET.
  if (typeof m.content !== 'string') return { ok: false, reason: 'content is not a URL string' };
  try {
    const u = new URL(m.content);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error();
  } catch {
    return { ok: false, reason: 'content is not an http(s) URL' };
  }
  return { ok: true, message: { messageId: m.message_id, directive: m.directive, sent: m.sent, metadata, content: m.content } };
}

/** yggd's data-host: the URL's host:port replaced, scheme and path kept. */
export function rewriteDataHost(url: string, dataHost: string | undefined): string {
  if (!dataHost) return url;
  const u = new URL(url);
  u.host = dataHost;
  return u.toString();
}
