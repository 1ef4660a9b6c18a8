// undici's Pool and Agent without the rest of undici. The package's index loads fetch,
// WebSocket, EventSource, caches, mocks and cookie handling along with them: some 8 MiB of a
// daemon's memory and a good part of its start-up, for classes it never uses. The daemon talks
// to its dispatchers through dispatch() (exchange.ts) only; the request() methods undici's index
// adds to them are not there.
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

export const Pool = load('Pool', 'undici/lib/dispatcher/pool.js');
export type Pool = Undici.Pool;
export const Agent = load('Agent', 'undici/lib/dispatcher/agent.js');
export type Agent = Undici.Agent;
