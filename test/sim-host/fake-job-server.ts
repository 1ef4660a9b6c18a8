// A tiny stand-in for the proxy's host-facing routes (docs/protocol/rex-pull.md §3): HTTPS,
// identity = client certificate CN, GET /ssh/jobs/<uuid> only for the host the job belongs to (404
// otherwise, empty body), GET …/cancel, and POST …/update captured for the test to inspect.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface FakeJob {
  uuid: string;
  host: string;
  script: string;
  effectiveUser?: string;
}

export interface Seen {
  uuid: string;
  cn: string | undefined;
  status: number;
  at: number;
}

export interface CapturedUpdate extends Seen {
  raw: string;
  body: { version?: string; updates?: Record<string, unknown>[] } & Record<string, unknown>;
  contentType: string | undefined;
}

export interface FakeJobServer {
  url: string;
  addJob(host: string, script: string, opts?: { effectiveUser?: string }): FakeJob;
  fetches: Seen[];
  cancels: Seen[];
  updates: CapturedUpdate[];
  /** The update bodies for one job, in arrival order. */
  updatesFor(uuid: string): CapturedUpdate[];
  close(): Promise<void>;
}

export async function startFakeJobServer(tls: { ca: string; cert: string; key: string }): Promise<FakeJobServer> {
  const jobs = new Map<string, FakeJob>();
  const fetches: Seen[] = [];
  const cancels: Seen[] = [];
  const updates: CapturedUpdate[] = [];

  const server = https.createServer(
    {
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
      requestCert: true,
      // Checked per request below, so a missing certificate gets the proxy's 403, not a TLS alert.
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const cn = socket.authorized ? (socket.getPeerCertificate().subject?.CN as string | undefined) : undefined;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answer = (status: number, body = '', headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers });
          res.end(body);
          return status;
        };
        if (!cn) return void answer(403, 'No client SSL certificate supplied');
        const m = /^\/ssh\/jobs\/([0-9a-f-]+)(\/update|\/cancel)?$/.exec(req.url ?? '');
        if (!m) return void answer(404);
        const uuid = m[1]!;
        const job = jobs.get(uuid);
        const mine = job !== undefined && job.host === cn;
        const at = Date.now();
        if (req.method === 'GET' && m[2] === undefined) {
          const status = mine
            ? answer(200, job.script, job.effectiveUser ? { 'X-Foreman-Effective-User': job.effectiveUser } : {})
            : answer(404);
          fetches.push({ uuid, cn, status, at });
        } else if (req.method === 'GET' && m[2] === '/cancel') {
          cancels.push({ uuid, cn, status: mine ? answer(200, '{}', { 'Content-Type': 'application/json' }) : answer(404), at });
        } else if (req.method === 'POST' && m[2] === '/update') {
          const raw = Buffer.concat(chunks).toString('utf8');
          let body: CapturedUpdate['body'] = {};
          try {
            body = JSON.parse(raw) as CapturedUpdate['body'];
          } catch {
            // kept as raw; the test fails on the shape
          }
          const status = answer(mine ? 200 : 404);
          updates.push({ uuid, cn, status, at, raw, body, contentType: req.headers['content-type'] });
        } else answer(404);
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://127.0.0.1:${port}`,
    addJob(host, script, opts = {}) {
      const job = { uuid: randomUUID(), host, script, effectiveUser: opts.effectiveUser };
      jobs.set(job.uuid, job);
      return job;
    },
    fetches,
    cancels,
    updates,
    updatesFor: (uuid) => updates.filter((u) => u.uuid === uuid),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The start notification REX publishes (docs/protocol/rex-pull.md §2.3). */
export function startMessage(proxyUrl: string, job: { uuid: string; effectiveUser?: string }): string {
  return JSON.stringify({
    type: 'data',
    message_id: randomUUID(),
    version: 1,
    sent: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
    directive: 'foreman',
    content: `${proxyUrl}/ssh/jobs/${job.uuid}`,
    metadata: {
      event: 'start',
      job_uuid: job.uuid,
      return_url: `${proxyUrl}/ssh/jobs/${job.uuid}/update`,
      version: 'v1',
      effective_user: job.effectiveUser ?? null,
    },
  });
}

/** The cancel notification REX publishes (docs/protocol/rex-pull.md §2.3). */
export function cancelMessage(proxyUrl: string, uuid: string): string {
  return JSON.stringify({
    type: 'data',
    message_id: randomUUID(),
    version: 1,
    sent: new Date().toISOString().replace(/\.\d+Z$/, '+00:00'),
    directive: 'foreman',
    content: `${proxyUrl}/ssh/jobs/${uuid}/cancel`,
    metadata: { event: 'cancel', job_uuid: uuid },
  });
}

/** Polls until check() is true; the failure names what was awaited. */
export async function waitUntil(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
