// The one place that picks a state driver from the configuration. SQLite in state_dir is the
// embedded default; PostgreSQL lets several instances share one state.
import type { ConnectionOptions } from './sqlite/connection.js';
import { openSqliteStateStore, prepareStateFile } from './sqlite/open.js';
import type { SqliteStoreOptions } from './sqlite/store.js';
import { SqlitePluginStore } from './sqlite-plugin-store.js';
import type { PgStateStoreOptions } from './postgresql/store.js';
import type { StateStore } from './store.js';

export { STATE_FILE_NAME, stateFilePath } from './sqlite/open.js';

/** The part of the configuration a driver reads. */
export interface StateLocation {
  state_dir: string;
  state?: { driver: 'sqlite' | 'postgresql'; url?: string; pool_size?: number };
}

/** Opens the configured driver and brings its schema up to date. */
export async function openStateStore(
  cfg: StateLocation,
  options: SqliteStoreOptions & Pick<PgStateStoreOptions, 'instanceId' | 'waitForDatabase'> = {},
): Promise<StateStore> {
  if (cfg.state?.driver === 'postgresql') {
    if (!cfg.state.url) throw new Error('state.url is needed with state.driver: postgresql');
    // Loaded only for this driver: pg and the driver cost memory an SQLite daemon keeps.
    const { PgStateStore } = await import('./postgresql/store.js');
    return PgStateStore.open(
      { url: cfg.state.url, poolSize: cfg.state.pool_size },
      { now: options.now, instanceId: options.instanceId, ...(options.waitForDatabase ? { waitForDatabase: options.waitForDatabase } : {}) },
    );
  }
  return openSqliteStateStore(cfg.state_dir, options);
}

/** Forwarded dynflow task owners and OpenSCAP reports, in the same file. */
export function openPluginStore(stateDir: string, options: ConnectionOptions = {}): SqlitePluginStore {
  return new SqlitePluginStore(prepareStateFile(stateDir), options);
}
