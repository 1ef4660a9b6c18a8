// What the built daemon (dist/src/cli.js, `npm run build`) loads before its first answer, started
// as systemd starts it with every feature configured: the project's code from the bundle
// (scripts/bundle-cli.mjs), not file by file; yaml inside it; and none of the packages that the
// first answer does not need (docs/operations.md, "Start-up and memory"). Structure, not time: a
// module that comes back onto the start path fails here whatever the machine's speed.
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startSimProcess, type SimProcess } from '../support/sim-process.js';

const CLI = resolve('dist/src/cli.js');
const PRELOAD = pathToFileURL(resolve('test/support/first-answer/preload.mjs')).href;
const DIST_SRC = pathToFileURL(resolve('dist/src')).href;
const FEATURES = [
  'tftp: { policy: replicate }',
  'dhcp: { policy: failover }',
  'dns: {}',
  'templates: { settings: { template_url: "http://127.0.0.1:8000" } }',
  'registration: {}',
  'puppetca: {}',
  'puppet: {}',
  'realm: {}',
  'bmc: {}',
  'httpboot: {}',
  'facts: {}',
  'logs: {}',
];
/** Packages the first answer must not wait for (each is loaded later, on first use, or never). */
const NOT_BEFORE_FIRST_ANSWER = ['winston', 'winston-transport', 'logform', 'commander', 'prom-client', 'undici', 'express', 'got', 'pg', 'mqtt', 'aedes', 'fast-xml-parser'];

interface Loaded {
  status: number;
  /** ES module URLs resolved before the first answer. */
  esm: string[];
  /** CommonJS files in the module cache at the first answer. */
  cjs: string[];
}

let dir: string;
let sims: SimProcess[] = [];
let loaded: Loaded;

/** Starts the daemon with the preload, waits for its first answer, stops it. */
async function firstAnswer(): Promise<Loaded> {
  const record = join(dir, 'loaded.txt');
  const config = join(dir, 'proxy-proxy.yaml');
  writeFileSync(
    config,
    `bind_host: 127.0.0.1\nhttp_port: 0\nstate_dir: ${dir}\nforeman_url: http://127.0.0.1:9\nbackends:\n${sims.map((s) => `  ${s.name}:\n    url: ${s.url}\n`).join('')}features:\n${FEATURES.map((f) => `  ${f}\n`).join('')}`,
  );
  const child = execFile(process.execPath, ['--import', PRELOAD, CLI, 'run', '--config', config, '--log-format', 'json'], {
    env: { ...process.env, FIRST_ANSWER_RECORD: record },
    timeout: 60_000,
  });
  const exited = new Promise<string>((r) => child.once('exit', (code, signal) => r(`exited with ${code ?? signal}`)));
  const deadline = Date.now() + 60_000;
  let text = '';
  try {
    while (Date.now() < deadline) {
      text = readText(record);
      if (text.includes('\nanswered ') || text.startsWith('answered ')) break;
      const gone = await Promise.race([exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 50))]);
      if (gone) throw new Error(`the daemon ${gone} before its first answer`);
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith('answered '));
  if (at < 0) throw new Error('no answer to GET /features within 60 s');
  const field = (l: string) => l.slice(l.indexOf(' ') + 1);
  return {
    status: Number(field(lines[at]!)),
    esm: lines.slice(0, at).filter((l) => l.startsWith('esm ')).map(field),
    cjs: lines.slice(at + 1).filter((l) => l.startsWith('cjs ')).map(field),
  };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The package a file or URL belongs to, when it is in node_modules. */
function packageOf(file: string): string | undefined {
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file);
  return m?.[1];
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pp-start-path-'));
  sims = await Promise.all(['sim-a', 'sim-b'].map((name) => startSimProcess({ name })));
  loaded = await firstAnswer();
}, 120_000);

afterAll(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

describe('the start path of the built daemon', () => {
  it('answers its first GET /features', () => {
    expect(loaded.status).toBe(200);
  });

  it("loads the project's code from the bundle only", () => {
    const own = loaded.esm.filter((u) => u.startsWith(`${DIST_SRC}/`));
    expect(own).toContain(pathToFileURL(CLI).href);
    expect(own.filter((u) => !/\/dist\/src\/cli(-chunk-[A-Z0-9]+)?\.js$/.test(u))).toEqual([]);
  });

  it('has yaml inside the bundle', () => {
    expect([...loaded.esm, ...loaded.cjs].filter((f) => packageOf(f) === 'yaml')).toEqual([]);
  });

  it('loads none of the packages the first answer does not need', () => {
    const packages = new Set([...loaded.esm, ...loaded.cjs].map(packageOf).filter((p) => p !== undefined));
    expect(NOT_BEFORE_FIRST_ANSWER.filter((p) => packages.has(p))).toEqual([]);
    // The state file is opened (and open sagas recovered) before the first answer.
    expect(packages.has('better-sqlite3')).toBe(true);
  });

  it("compiles the configuration validator from the build's V8 code cache under the start-up's heap hold", () => {
    const script = `
      const dist = ${JSON.stringify(DIST_SRC)};
      (await import(dist + '/startup-heap.js')).holdYoungGeneration();
      const { schemaErrors, usedCodeCache } = await import(dist + '/config/validator.js');
      schemaErrors({});
      process.stdout.write(String(usedCodeCache()));
    `;
    expect(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 })).toBe('true');
  });
});
