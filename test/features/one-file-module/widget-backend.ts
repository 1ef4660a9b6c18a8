// A smart proxy that runs only the widget module: a real HTTP server on loopback holding widgets
// in memory, answering /features, /v2/features and /version as a smart proxy does.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WidgetBackend {
  url: string;
  widgets: Map<string, string>;
  close(): Promise<void>;
}

export async function startWidgetBackend(): Promise<WidgetBackend> {
  const widgets = new Map<string, string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      const json = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (path === '/features') return json(['widget']);
      if (path === '/v2/features') return json({ widget: { http_enabled: true, https_enabled: false, settings: { widget_url: null }, state: 'running', capabilities: ['stacking'] } });
      if (path === '/version') return json({ version: '3.11.0', modules: { widget: '3.11.0' } });
      const id = /^\/widget\/([^/]+)$/.exec(path)?.[1];
      if (id === undefined) {
        res.writeHead(404).end('Not found');
        return;
      }
      const key = decodeURIComponent(id);
      if (req.method === 'GET') {
        const value = widgets.get(key);
        if (value === undefined) res.writeHead(404).end(`no widget ${key}`);
        else res.writeHead(200, { 'content-type': 'text/plain' }).end(value);
      } else if (req.method === 'POST') {
        widgets.set(key, new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('value') ?? '');
        res.writeHead(200).end();
      } else if (req.method === 'DELETE') {
        widgets.delete(key);
        res.writeHead(200).end();
      } else res.writeHead(405).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    widgets,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
