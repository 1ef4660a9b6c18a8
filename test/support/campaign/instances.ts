// proxy-proxy instances of the fault campaign: the built daemon as its own process, on a fixed
// port, so that one killed with SIGKILL comes back on the same state at the same address.
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startDaemonProcess, type DaemonProcess } from '../converge-cluster.js';
import type { Client } from '../http-client.js';

/** A port that was free a moment ago on the loopback address. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class CampaignInstance {
  private proc: DaemonProcess | undefined;
  /** Log lines of the lives a kill ended. */
  private readonly earlier: string[] = [];
  kills = 0;

  private constructor(
    readonly name: string,
    private readonly configFile: string,
  ) {}

  /** Writes the config (`yaml` is given the port) and starts the daemon on it. */
  static async start(name: string, dir: string, yaml: (port: number) => string): Promise<CampaignInstance> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, yaml(await freePort()));
    const instance = new CampaignInstance(name, file);
    await instance.restart();
    return instance;
  }

  get alive(): boolean {
    return this.proc !== undefined && this.proc.child.exitCode === null && this.proc.child.signalCode === null;
  }

  get http(): Client {
    if (!this.proc) throw new Error(`${this.name} is not running`);
    return this.proc.http;
  }

  /** http://127.0.0.1:<port>, the same across restarts. */
  get baseUrl(): string {
    if (!this.proc) throw new Error(`${this.name} is not running`);
    return this.proc.base;
  }

  /** Every log line of this instance, across restarts. */
  lines(): string[] {
    return [...this.earlier, ...(this.proc?.lines ?? [])];
  }

  /** Log lines of the current life only. */
  currentLines(): string[] {
    return this.proc?.lines ?? [];
  }

  /** SIGKILL: no clean-up, no lease given up, requests in flight lose their answers. */
  async kill(): Promise<void> {
    if (!this.proc) return;
    this.kills++;
    const proc = this.proc;
    this.proc = undefined;
    this.earlier.push(...proc.lines, `---- ${this.name} killed (SIGKILL) ----`);
    await proc.kill();
  }

  /** Starts it again on the same config, state and port (bounded retries while the port lingers). */
  async restart(): Promise<void> {
    if (this.alive) return;
    let last: unknown;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        this.proc = await startDaemonProcess(this.configFile);
        return;
      } catch (err) {
        last = err;
        if (!/EADDRINUSE/.test(String(err))) break;
        await sleep(100);
      }
    }
    throw new Error(`${this.name} did not start again: ${String(last)}`);
  }

  async stop(): Promise<void> {
    await this.proc?.stop();
    this.proc = undefined;
  }
}
