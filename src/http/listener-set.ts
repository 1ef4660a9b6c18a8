// Applies a reloaded configuration to the open listeners: a listener whose scheme, address and
// port did not change is kept (with its connections), new certificates are swapped in place
// (TLS contexts, no gap), listeners no longer configured are closed gracefully, new ones opened.
import { readFileSync } from 'node:fs';
import type https from 'node:https';
import type { Config } from '../config/types.js';
import { openListeners, type BoundListener, type RequestListener } from './listeners.js';

interface Wanted {
  scheme: 'http' | 'https';
  bind: string;
  port: number;
}

function wanted(cfg: Config): Wanted[] {
  const out: Wanted[] = [];
  for (const bind of cfg.bind_host) {
    if (cfg.http_port !== undefined) out.push({ scheme: 'http', bind, port: cfg.http_port });
    if (cfg.https_port !== undefined && cfg.ssl_certificate && cfg.ssl_private_key && cfg.ssl_ca_file) {
      out.push({ scheme: 'https', bind, port: cfg.https_port });
    }
  }
  return out;
}

const hostOf = (bind: string) => (bind === '*' ? '::' : bind);
/** Port 0 means "any free port": a listener already holding one satisfies it. */
const same = (l: BoundListener, w: Wanted) => l.scheme === w.scheme && l.host === hostOf(w.bind) && (w.port === 0 || l.port === w.port);

export async function reconcileListeners(
  current: BoundListener[],
  before: Config,
  next: Config,
  onRequest: RequestListener,
): Promise<{ listeners: BoundListener[]; opened: BoundListener[]; closed: BoundListener[]; reloadedTls: boolean }> {
  const want = wanted(next);
  const kept = current.filter((l) => want.some((w) => same(l, w)));
  const closed = current.filter((l) => !kept.includes(l));
  const missing = want.filter((w) => !kept.some((l) => same(l, w)));

  const tlsChanged =
    before.ssl_certificate !== next.ssl_certificate || before.ssl_private_key !== next.ssl_private_key || before.ssl_ca_file !== next.ssl_ca_file;
  let reloadedTls = false;
  if (tlsChanged && next.ssl_certificate && next.ssl_private_key && next.ssl_ca_file) {
    const context = { cert: readFileSync(next.ssl_certificate), key: readFileSync(next.ssl_private_key), ca: readFileSync(next.ssl_ca_file) };
    for (const l of kept) {
      if (l.scheme === 'https') {
        (l.server as https.Server).setSecureContext(context);
        reloadedTls = true;
      }
    }
  }

  // Close first what goes away, so a port moving between schemes can be bound again.
  await Promise.all(
    closed.map(
      (l) =>
        new Promise<void>((resolve) => {
          l.server.close(() => resolve());
          l.server.closeIdleConnections();
        }),
    ),
  );
  const opened: BoundListener[] = [];
  for (const w of missing) {
    const one: Config = {
      ...next,
      bind_host: [w.bind],
      http_port: w.scheme === 'http' ? w.port : undefined,
      https_port: w.scheme === 'https' ? w.port : undefined,
    };
    opened.push(...(await openListeners(one, onRequest)));
  }
  return { listeners: [...kept, ...opened], opened, closed, reloadedTls };
}
