// The stand-in Foreman the recording's README describes: one text/plain line per request,
// `FAKE-FOREMAN <METHOD> <path> query=<query> xff=<X-Forwarded-For>`, 201 for `…/built`, and
// `fake_status=NNN` for any other status. It can be stopped and restarted on the same port.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export class StandInForeman {
  lines: string[] = [];
  port = 0;
  private server?: http.Server;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const url = req.url ?? '';
      const q = url.indexOf('?');
      const path = q >= 0 ? url.slice(0, q) : url;
      const query = q >= 0 ? url.slice(q + 1) : '';
      const xff = (req.headers['x-forwarded-for'] as string | undefined) ?? '';
      const line = `FAKE-FOREMAN ${req.method} ${path} query=${query} xff=${xff}`;
      req.resume();
      req.on('end', () => {
        this.lines.push(line);
        const fake = new URLSearchParams(query).get('fake_status');
        const headers: Record<string, string> = { 'Content-Type': 'text/plain' };
        if (fake !== null) {
          if (fake === '302') headers.Location = '/redirected';
          // The recorded errors end in "<code> " : the stand-in sent no reason phrase.
          res.writeHead(Number(fake), '', headers);
        } else {
          res.writeHead(path.endsWith('/built') ? 201 : 200, headers);
        }
        res.end(line + '\n');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
