// Builds dist/mamori.mjs: one ESM bundle of the CLI (agent + collector) that imports its
// npm dependencies from node_modules at run time, and dist/test/*.mjs: the small programs
// the end-to-end tests run as separate processes (test/helpers/procs/*.ts). The installers
// (installer/) make self-contained bundles of their own from the same entry points.
import { readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', packages: 'external', sourcemap: 'linked', logLevel: 'warning' };

// Code splitting: the command groups are separate chunks loaded on demand (src/cli/main.ts).
// Chunks are named by content hash: remove the previous build's so none is left behind.
rmSync('dist/chunks', { recursive: true, force: true });
await build({ ...common, entryPoints: { mamori: 'src/cli/main.ts' }, outdir: 'dist', splitting: true, chunkNames: 'chunks/[name]-[hash]', outExtension: { '.js': '.mjs' } });

const procs = readdirSync('test/helpers/procs').filter((f) => f.endsWith('.ts'));
if (procs.length > 0) {
  await build({ ...common, entryPoints: procs.map((f) => `test/helpers/procs/${f}`), outdir: 'dist/test', outExtension: { '.js': '.mjs' } });
}
