// Builds dist/mamori.mjs: one ESM bundle of the CLI (agent + collector) that imports
// its npm dependencies from node_modules at run time. The installers (installer/) make
// self-contained bundles of their own from the same entry point.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/mamori.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
});
