// A schema step, as both drivers list them: sqlite/migrations.ts and postgresql/migrations.ts
// hold the same versions under the same names, each in its own dialect.

export interface Migration {
  /** 1, 2, 3… with no gaps: the schema version the database has once this one is applied. */
  version: number;
  name: string;
  sql: string;
}

/** Refuses a list with a gap or out of order: a version would mean different schemas. */
export function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration "${m.name}" has version ${m.version}, expected ${i + 1}`);
  });
}

/** The state was written by a newer proxy-proxy; this one must not touch it. */
export class SchemaTooNewError extends Error {
  constructor(
    readonly where: string,
    readonly foundVersion: number,
    readonly knownVersion: number,
  ) {
    super(
      `${where} has schema version ${foundVersion}, but this proxy-proxy knows only up to ` +
        `version ${knownVersion}; run a proxy-proxy at least as new as the one that wrote it`,
    );
    this.name = 'SchemaTooNewError';
  }
}

export interface MigrateResult {
  from: number;
  to: number;
}
