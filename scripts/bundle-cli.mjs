// Part of `npm run build`, after tsc: dist/src/cli.js, the entry point every start uses (bin,
// systemd unit, Debian package, npm start), is replaced by an esbuild bundle of the same sources
// (src/cli.ts and the project's modules it imports, and the yaml package; the other packages stay
// in node_modules). Node 20's loaders resolve, read and compile each file on its own: some 150
// of the project's files and yaml's 84 before the first answer cost more than the code they
// hold (yaml is the only dependency with many files that every start needs). What the daemon loads on demand
// (the command line, the runtime API, REX, PostgreSQL, ...) stays in chunks of its own, loaded
// when it was before. The chunks sit beside cli.js, so paths relative to a module's own
// location (demo.ts) resolve as they do from the per-file build. docs/operations.md
// ("Start-up and memory").
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'src');
/** Prefix of the chunk files; those of an earlier build are removed first. */
const CHUNK_PREFIX = 'cli-chunk-';

/** Dependencies built into the bundle; every other one is imported from node_modules. */
const INSIDE = ['yaml'];
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys(dependencies)
  .filter((name) => !INSIDE.includes(name))
  .flatMap((name) => [name, `${name}/*`]);

for (const name of readdirSync(outdir)) if (name.startsWith(CHUNK_PREFIX)) rmSync(join(outdir, name));

await build({
  absWorkingDir: root,
  entryPoints: ['src/cli.ts'],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  chunkNames: `${CHUNK_PREFIX}[hash]`,
  sourcemap: true,
  logLevel: 'warning',
  // yaml is CommonJS and requires node:process and node:buffer; an ES module has no require of
  // its own, so each output file gets one (esbuild renames the project's own `require`s).
  banner: { js: "import { createRequire as bundleCreateRequire } from 'node:module'; const require = bundleCreateRequire(import.meta.url);" },
});
