// Everything the bench starts is registered here and torn down on every way out: normal end,
// error, Ctrl-C, or the watchdog that bounds the whole run.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
const closers = new Set<() => Promise<unknown>>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `pp-bench-${label}-`));
  dirs.add(dir);
  return dir;
}

/** Async teardown of things that are not plain processes (sims, which have their own stop). */
export function onCleanup(close: () => Promise<unknown>): void {
  closers.add(close);
}

function alive(c: ChildProcess): boolean {
  return c.exitCode === null && c.signalCode === null;
}

/** Asks every child to stop, waits a moment, then kills what is left and removes temp dirs. */
export async function cleanupAll(): Promise<void> {
  await Promise.allSettled([...closers].map((c) => c()));
  closers.clear();
  const waiting = [...children].filter(alive).map(
    (c) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          c.kill('SIGKILL');
          resolve();
        }, 3000);
        c.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        c.kill('SIGTERM');
      }),
  );
  await Promise.all(waiting);
  removeDirs();
}

function removeDirs(): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** Last resort on a synchronous exit path: no waiting is possible there. */
export function killAllNow(): void {
  for (const c of children) if (alive(c)) c.kill('SIGKILL');
  removeDirs();
}

/** Bounds the run: past `ms` everything is torn down and the process exits non-zero. */
export function startWatchdog(ms: number): void {
  const timer = setTimeout(() => {
    process.stderr.write(`bench: watchdog: the run took longer than ${Math.round(ms / 1000)} s, stopping\n`);
    void cleanupAll().finally(() => process.exit(2));
  }, ms);
  timer.unref();
}

let hooked = false;
export function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      process.stderr.write(`bench: ${sig}, cleaning up\n`);
      void cleanupAll().finally(() => process.exit(130));
    });
  }
}
