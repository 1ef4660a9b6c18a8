// undici's Pool and Agent without the rest of undici. The package's index loads fetch,
// WebSocket, EventSource, caches, mocks and cookie handling along with them: some 8 MiB of a
// daemon's memory and a good part of its start-up, for classes it never uses. The daemon talks
// to its dispatchers through dispatch() (exchange.ts) only; the request() methods undici's index
// adds to them are not there.
//
// Even those two files cost some 6 MiB and 30–40 ms of CPU to load: they are loaded when the
// first dispatcher is made, at the first call to a backend or to Foreman, not at start-up (an
// idle daemon's health checks run on node:http). docs/operations.md ("Start-up and memory").
//
// The two files are undici's own (lib/dispatcher/pool.js and agent.js, where they have been since
// undici 5); should a release move them, the package's index is loaded instead.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

function load<K extends 'Pool' | 'Agent'>(name: K, file: string): (typeof Undici)[K] {
  try {
    return require(file) as (typeof Undici)[K];
  } catch {
    return (require('undici') as typeof Undici)[name];
  }
}

let PoolClass: typeof Undici.Pool | undefined;
let AgentClass: typeof Undici.Agent | undefined;

export type Pool = Undici.Pool;
export type Agent = Undici.Agent;

/** Loads undici's two files now (the bench's memory table; otherwise the first dispatcher does). */
export function loadDispatchers(): void {
  PoolClass ??= load('Pool', 'undici/lib/dispatcher/pool.js');
  AgentClass ??= load('Agent', 'undici/lib/dispatcher/agent.js');
}

export function newPool(origin: string, options: Undici.Pool.Options): Pool {
  PoolClass ??= load('Pool', 'undici/lib/dispatcher/pool.js');
  return new PoolClass(origin, options);
}

export function newAgent(options: Undici.Agent.Options): Agent {
  AgentClass ??= load('Agent', 'undici/lib/dispatcher/agent.js');
  return new AgentClass(options);
}

/** A dispatcher made at its first use; closing one never used loads nothing. */
export class LazyPool {
  private pool: Pool | undefined;

  constructor(
    private readonly origin: string,
    private readonly options: Undici.Pool.Options,
  ) {}

  get(): Pool {
    return (this.pool ??= newPool(this.origin, this.options));
  }

  async close(): Promise<void> {
    const pool = this.pool;
    if (pool) await pool.close().catch(() => pool.destroy());
  }

  async destroy(): Promise<void> {
    await this.pool?.destroy();
  }
}
