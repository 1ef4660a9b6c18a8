// undici (some 6 MiB) is loaded at the first call to a backend, not when backends are made:
// checked in a fresh node process on the built modules (npm run build), where the CommonJS
// module cache shows what was loaded.
import { describe, it, expect } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const BACKEND = pathToFileURL(resolve('dist/src/backends/backend.js')).href;

function undiciFilesAfter(steps: string): number {
  const script = `
    import { createRequire } from 'node:module';
    const { Backend } = await import(${JSON.stringify(BACKEND)});
    const checks = { interval_ms: 1000, timeout_ms: 500, fall: 2, rise: 1, path: '/features' };
    const b = new Backend({ name: 'a', url: 'http://127.0.0.1:9', connect_timeout_ms: 200, response_timeout_ms: 500 }, checks, { consecutive_failures: 3, ejection_ms: 1000 }, () => {});
    ${steps}
    const cache = createRequire(import.meta.url).cache;
    process.stdout.write(String(Object.keys(cache).filter((f) => f.includes('/node_modules/undici/')).length));
  `;
  return Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 }));
}

describe('undici loaded at the first call', () => {
  it('is not loaded by making or closing a backend', () => {
    expect(undiciFilesAfter('await b.close();')).toBe(0);
  });

  it('is loaded by a call', () => {
    expect(undiciFilesAfter("await b.send({ method: 'GET', path: '/features', headers: {} }).catch(() => {}); await b.destroy();")).toBeGreaterThan(0);
  });
});
