// Parts of proxy-proxy that a configuration may load on top of the daemon's own, each as the
// daemon loads it when configured; servers/module-rss.ts measures what each adds.
export const OPTIONAL_PARTS: Record<string, () => Promise<unknown>> = {
  "undici's Pool and Agent (forwarding: loaded at the first call to a backend or Foreman)": async () =>
    (await import('../src/backends/undici-dispatchers.js')).loadDispatchers(),
  'command line: commander and the command table (commands other than a plain run)': () => Promise.all([import('commander'), import('../src/commands/index.js')]),
  'prom-client and its default metrics (first /metrics scrape)': async () => {
    const { Registry, collectDefaultMetrics } = await import('prom-client');
    collectDefaultMetrics({ register: new Registry() });
  },
  'PostgreSQL driver and pg (state.driver: postgresql)': () =>
    Promise.all([import('../src/state/postgresql/store.js'), import('../src/state/postgresql/instances.js'), import('../src/state/postgresql/open-spool.js')]),
  'REX spool: MQTT client, embedded broker (rex.enabled)': () => import('../src/rex/rex-service.js'),
  'OpenSCAP service and its XML parser (openscap configured)': () => import('../src/openscap/openscap-service.js'),
  "undici's whole package index (fetch, WebSocket, caches…; not loaded)": () => import('undici'),
};
