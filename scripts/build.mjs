// Builds dist/mamori.mjs: one ESM bundle of the CLI (agent + collector) that imports its
// npm dependencies from node_modules at run time, dist/sqlite-writer.mjs: the collector's SQLite
// writer thread, and dist/test/*.mjs: the small programs
// the end-to-end tests run as separate processes (test/helpers/procs/*.ts). The installers
// (installer/) make self-contained bundles of their own from the same entry points.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: 'linked', logLevel: 'warning' };

// Code splitting: the command groups are separate chunks loaded on demand (src/cli/main.ts).
const cli = await build({ ...common, entryPoints: { mamori: 'src/cli/main.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]', outExtension: { '.js': '.mjs' }, metafile: true });

// Chunks are named by content hash, so every change leaves the previous build's behind. Remove
// those, but only once they are old enough that no process started from the previous build
// (a test's agent or collector) can still load one of them lazily.
const current = new Set(Object.keys(cli.metafile.outputs).map((f) => resolve(f)));
const staleAfterMs = 30 * 60_000;
for (const name of readdirSync('dist/chunks')) {
  const file = resolve(join('dist/chunks', name));
  if (!current.has(file) && Date.now() - statSync(file).mtimeMs > staleAfterMs) rmSync(file, { force: true });
}

// The SQLite store's writer thread (src/collector/store/sqlite/sqlite-store.ts finds it beside the bundle).
await build({ ...common, entryPoints: { 'sqlite-writer': 'src/collector/store/sqlite/writer-thread.ts' }, outdir: 'dist', outExtension: { '.js': '.mjs' } });

const procs = readdirSync('test/helpers/procs').filter((f) => f.endsWith('.ts'));
if (procs.length > 0) {
  await build({ ...common, entryPoints: procs.map((f) => `test/helpers/procs/${f}`), outdir: 'dist/test', outExtension: { '.js': '.mjs' } });
}
