// The validator `npm run build` compiles ahead of time (dist/src/config/config-validate.cjs) must
// judge a file exactly as the schema compiled at run time does: same verdict, same errors, same
// defaults written. It is the one the daemon uses.
import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { configSchema } from '../../src/config/schema.js';
import { CODE_CACHE_FILE, CONFIG_FORMATS, configAjv, PRECOMPILED_FILE, precompiledScript, schemaStamp } from '../../src/config/validator.js';

const require = createRequire(import.meta.url);
const FILE = resolve('dist/src/config', PRECOMPILED_FILE);

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
type Made = ((formats: typeof CONFIG_FORMATS) => Validate) & { stamp: string };

const CASES: unknown[] = [
  { http_port: 8000, backends: { a: { url: 'http://127.0.0.1:8443' } }, features: { tftp: {}, dns: { policy: 'failover', order: 'round_robin' } } },
  { http_port: 'x', backends: { a: { url: 'ftp://x' }, 'bad name': { url: 'http://b' } }, features: { tftp: { policy: 'nope', min_success: 0 } } },
  { https_port: 8443, ssl_certificate: '', backends: {}, features: { nosuch: {} }, drift: { schedule: 'not cron' }, runtime_api: { allow: ['300.1.1.1/40'] } },
  { backends: { a: { url: 'http://a', response_timeout_ms: -1, extra: true } }, features: { dhcp: null }, rex: { enabled: true, broker: 'tcp://x' } },
];

describe('build-time compiled configuration validator', () => {
  const made = require(FILE) as Made;

  it('was compiled from the schema in src/ (run npm run build after changing it)', () => {
    expect(made.stamp).toBe(schemaStamp());
  });

  it('gives the same verdicts, errors and defaults as the schema compiled at run time', () => {
    const ahead = made(CONFIG_FORMATS);
    const now = configAjv().compile(configSchema);
    for (const data of CASES) {
      const a = structuredClone(data);
      const b = structuredClone(data);
      expect(ahead(a)).toBe(now(b));
      expect(ahead.errors ?? null).toEqual(now.errors ?? null);
      expect(a).toEqual(b);
    }
    // The cases exercise both verdicts.
    expect(CASES.map((c) => now(structuredClone(c)))).toEqual([true, false, false, false]);
  });

  it('comes with V8 code this Node accepts, and judges the same when loaded from it', () => {
    const script = precompiledScript(readFileSync(FILE, 'utf8'), readFileSync(resolve('dist/src/config', CODE_CACHE_FILE)));
    expect(script.cachedDataRejected).toBe(false);
    const cached = precompiledScript.instantiate(script, require);
    expect(cached.stamp).toBe(made.stamp);
    const fromCache = cached(CONFIG_FORMATS);
    const plain = made(CONFIG_FORMATS);
    for (const data of CASES) {
      expect(fromCache(structuredClone(data))).toBe(plain(structuredClone(data)));
      expect(JSON.stringify(fromCache.errors ?? null)).toBe(JSON.stringify(plain.errors ?? null));
    }
  });
});
