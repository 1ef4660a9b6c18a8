// The compiled schema. Ajv fills in defaults as it validates (useDefaults), so after a clean
// run the data holds every default the schema declares.
//
// Compiling the schema took most of the daemon's start-up (0.3 s on a quiet machine, seconds on
// a busy one) and left some 15 MiB of heap behind. `npm run build` therefore compiles it once,
// into dist/src/config/config-validate.cjs (scripts/compile-config-validator.mjs, Ajv's
// standalone code), stamped with a hash of the schema it was made from. That file is used when
// its stamp matches the schema in force; otherwise (running from src/ under Jest, or a build
// made without the script) the schema is compiled here, as before.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import type { Ajv2019 as Ajv2019Class, ErrorObject, ValidateFunction, CodeOptions } from 'ajv/dist/2019.js';
import { validate as isCronExpression } from 'node-cron';
import { allowEntryProblem } from './runtime-allow.js';
import { configSchema } from './schema.js';
import { isHttpBaseUrl, isHttpUrl, isMqttBroker } from './url-formats.js';
import { underBuildFlags } from '../startup-heap.js';

const require = createRequire(import.meta.url);

/** The custom string formats of the schema (their failure messages: FORMAT_MESSAGES). */
export const CONFIG_FORMATS: Record<string, (value: string) => boolean> = {
  'http-url': isHttpUrl,
  'http-base-url': isHttpBaseUrl,
  'mqtt-broker': isMqttBroker,
  cron: (value) => isCronExpression(value),
  'runtime-client': (value) => allowEntryProblem(value) === undefined,
};

/** The Ajv instance both compilations use, formats registered. */
export function configAjv(code?: CodeOptions): Ajv2019Class {
  // Loaded here, not at the top: a daemon running the build-time validator never needs Ajv.
  const { Ajv2019 } = require('ajv/dist/2019.js') as typeof import('ajv/dist/2019.js');
  const ajv = new Ajv2019({ allErrors: true, useDefaults: true, verbose: true, allowUnionTypes: true, strict: true, strictRequired: false, ...(code ? { code } : {}) });
  for (const [name, test] of Object.entries(CONFIG_FORMATS)) ajv.addFormat(name, test);
  return ajv;
}

/** Identifies the schema a build-time validator was compiled from. */
export function schemaStamp(): string {
  return createHash('sha256').update(JSON.stringify(configSchema)).digest('hex');
}

/** File name of the build-time validator, next to this module in dist/. */
export const PRECOMPILED_FILE = 'config-validate.cjs';
/** V8's compiled code for it, made by the build (scripts/compile-config-validator.mjs). */
export const CODE_CACHE_FILE = 'config-validate.cjs.v8cache';

interface Precompiled {
  (formats: Record<string, (value: string) => boolean>): ValidateFunction;
  stamp: string;
}

type CommonJsBody = (exports: unknown, require: NodeJS.Require, module: { exports: unknown }) => void;

/**
 * The build-time file as a script, compiled from V8's code cache when one is given and V8
 * accepts it (same V8, same flags); otherwise compiled as usual. Loaded this way rather than
 * with require() because require() has no code cache in Node 20.
 */
export function precompiledScript(source: string, cachedData?: Buffer): Script {
  return new Script(`(function (exports, require, module) {${source}\n})`, { filename: PRECOMPILED_FILE, cachedData });
}

/** Runs the script as CommonJS would: what it exports. */
precompiledScript.instantiate = (script: Script, req: NodeJS.Require): Precompiled => {
  const module = { exports: {} as unknown };
  (script.runInThisContext() as CommonJsBody)(module.exports, req, module);
  return module.exports as Precompiled;
};

let codeCacheUsed = false;

/** Whether the validator in force was compiled from the build's V8 code cache (tests). */
export function usedCodeCache(): boolean {
  return codeCacheUsed;
}

/**
 * Where the build put the two files: next to this module (dist/src/config/), or in config/
 * below it when this module is part of the bundled entry point in dist/src/ (scripts/bundle-cli.mjs).
 */
function precompiledDir(): string {
  const dir = dirname(fileURLToPath(import.meta.url));
  return existsSync(join(dir, PRECOMPILED_FILE)) ? dir : join(dir, 'config');
}

function precompiled(): ValidateFunction | undefined {
  const dir = precompiledDir();
  let made: Precompiled;
  try {
    const source = readFileSync(join(dir, PRECOMPILED_FILE), 'utf8');
    let cache: Buffer | undefined;
    try {
      cache = readFileSync(join(dir, CODE_CACHE_FILE));
    } catch {
      cache = undefined;
    }
    const script = underBuildFlags(() => precompiledScript(source, cache));
    codeCacheUsed = cache !== undefined && !script.cachedDataRejected;
    made = precompiledScript.instantiate(script, require);
  } catch {
    return undefined;
  }
  return made.stamp === schemaStamp() ? made(CONFIG_FORMATS) : undefined;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  compiled ??= precompiled() ?? configAjv().compile(configSchema);
  return compiled;
}

/** Validates `data` in place (defaults are written into it); returns Ajv's errors, [] when valid. */
export function schemaErrors(data: unknown): ErrorObject[] {
  const validate = validator();
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
