// The control API (plain HTTP, JSON) that tests use to inspect state and inject faults.
//   GET /state · GET|DELETE /calls · GET|POST /faults · POST /reset
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type ErrorRequestHandler } from 'express';
import type { SimContext } from './context.js';
import { FaultInputError, type CallLog, type Faults } from './faults.js';
import type { ApiListeners } from './listeners.js';
import { resetState, snapshotState } from './state.js';

export interface ControlDeps {
  ctx: SimContext;
  calls: CallLog;
  faults: Faults;
  listeners: ApiListeners;
}

export function createControlApp(deps: ControlDeps): express.Express {
  const { ctx, calls, faults, listeners } = deps;
  const app = express();
  app.set('x-powered-by', false);
  app.set('etag', false);
  app.use(express.json({ limit: '1mb', type: () => true }));

  app.get('/state', (_req, res) => {
    res.json(snapshotState(ctx));
  });
  app.get('/calls', (_req, res) => {
    res.json(calls.calls);
  });
  app.delete('/calls', (_req, res) => {
    calls.clear();
    res.json([]);
  });
  app.get('/faults', (_req, res) => {
    res.json(faults.state);
  });
  app.post('/faults', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body)) return res.status(400).json({ error: 'expected a JSON object' });
    try {
      faults.update(body);
    } catch (err) {
      if (err instanceof FaultInputError) return res.status(400).json({ error: err.message });
      throw err;
    }
    if (faults.state.refuse) await listeners.refuse();
    else await listeners.accept();
    res.json(faults.state);
  });
  app.post('/reset', (_req, res) => {
    resetState(ctx);
    res.json(snapshotState(ctx));
  });
  app.use((_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  const onError: ErrorRequestHandler = (err: Error & { status?: number }, _req, res, _next) => {
    res.status(err.status ?? 500).json({ error: err.message });
  };
  app.use(onError);
  return app;
}

export async function startControl(deps: ControlDeps, host: string, port: number): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer(createControlApp(deps));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
