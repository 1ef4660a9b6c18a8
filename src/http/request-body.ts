// Reads a request body into memory with a hard cap: replicated writes and failover retries need
// the whole body, and nothing unbounded may sit in memory (DESIGN principle 6).
import type { IncomingMessage } from 'node:http';

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`Request body exceeds the limit of ${limit} bytes`);
  }
}

const EMPTY = Buffer.alloc(0);

/** False for a request without a body (Foreman's GETs): neither chunked nor a length above 0. */
export function carriesBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  // Most requests (Foreman's GETs) carry no body: skip the stream machinery for them.
  if (!carriesBody(req)) {
    req.resume();
    return Promise.resolve(EMPTY);
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(new BodyTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
