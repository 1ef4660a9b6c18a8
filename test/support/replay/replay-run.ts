// The state one replay carries from exchange to exchange: the target, the stand-in Foreman,
// the client certificates, and the from_timestamp taken at the log marker.
import { readFileSync } from 'node:fs';
import { createPki } from '../pki.js';
import { StandInForeman } from './stand-in-foreman.js';
import type { ReplayEnv, ReplayTarget, Tolerance } from './target.js';

/** The recorded port of the stand-in Foreman, replaced by ours everywhere. */
const RECORDED_UPSTREAM = '127.0.0.1:18099';
const CLIENT_CNS = ['proxy-proxy.example.test', 'untrusted.example.test', 'foreman.example.test'];

export interface ClientCert {
  cert: Buffer;
  key: Buffer;
}

export class ReplayRun {
  readonly upstream = new StandInForeman();
  readonly clientCerts = new Map<string, ClientCert>();
  ca = Buffer.alloc(0);
  fromTimestamp = 0;
  private started?: ReplayTarget;

  constructor(readonly tolerance: Tolerance) {}

  get target(): ReplayTarget {
    if (!this.started) throw new Error('replay target not started');
    return this.started;
  }

  async start(startTarget: (env: ReplayEnv) => Promise<ReplayTarget>): Promise<void> {
    const pki = await createPki();
    this.ca = readFileSync(pki.caCert);
    for (const cn of CLIENT_CNS) {
      const c = await pki.issue(cn);
      this.clientCerts.set(cn, { cert: readFileSync(c.cert), key: readFileSync(c.key) });
    }
    await this.upstream.start();
    this.started = await startTarget({ pki, foremanUrl: this.upstream.url });
  }

  async stop(): Promise<void> {
    await this.started?.stop();
    await this.upstream.stop();
  }

  /** Recorded text with our stand-in's port. */
  localize(s: string): string {
    return s.split(RECORDED_UPSTREAM).join(`127.0.0.1:${this.upstream.port}`);
  }

  /** Recorded text with our stand-in's port and the answering simulator's tftproot. */
  expand(s: string): string {
    return this.localize(s).split('<tftproot>').join(this.target.tftproot);
  }
}
