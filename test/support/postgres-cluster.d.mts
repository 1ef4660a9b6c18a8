export interface TestCluster {
  /** postgresql://postgres@127.0.0.1:PORT/postgres */
  url: string;
  dir: string;
  port: number;
  start(): void;
  stop(mode?: 'smart' | 'fast' | 'immediate'): void;
  restart(): void;
  destroy(): void;
}
export function postgresBinDir(): string;
export function freePort(): Promise<number>;
export function startCluster(options?: { port?: number; maxConnections?: number; durable?: boolean }): Promise<TestCluster>;
