#!/usr/bin/env node
/**
 * Mutation testing of the modules whose bugs lose data or let a violation through, one module
 * per Stryker run: the module's source is mutated and only the unit tests that cover it run
 * (vitest.mutation.config.ts), so each run takes minutes. Slow: not part of `npm test` or CI.
 *
 *   npm run mutation                 every module below, one after another
 *   npm run mutation -- projection   one module (names as below)
 *
 * Scores are printed per module and written to reports/mutation/<module>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const modules = {
  projection: {
    mutate: ['src/collector/store/projection.ts'],
    tests: ['test/collector/projection.test.ts'],
  },
  // The 媒体管理台帳 identity of a stick (vendor, product, serial); the ledger match itself is
  // list membership in src/shared/catalogue/evaluate.ts.
  'usb-fingerprint': {
    mutate: ['agent/checks/usb-media/fingerprint.ts'],
    tests: ['test/agent/checks/usb-fingerprint.test.ts', 'test/agent/checks/usb-ledger-serial.test.ts'],
  },
  policy: {
    mutate: ['agent/policy-guard.ts', 'src/shared/tls/policy-signature.ts'],
    tests: ['test/agent/policy-guard.test.ts', 'test/shared/tls/policy-signature.test.ts'],
  },
};

const root = resolve(import.meta.dirname, '..');
const stryker = resolve(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');
if (!existsSync(stryker)) {
  console.error('StrykerJS がインストールされていません: npm install --save-dev @stryker-mutator/core @stryker-mutator/vitest-runner @stryker-mutator/typescript-checker');
  process.exit(2);
}
const asked = process.argv.slice(2);
for (const name of asked) if (!(name in modules)) throw new Error(`不明なモジュール: ${name}（${Object.keys(modules).join(', ')}）`);
let failed = false;
for (const name of asked.length > 0 ? asked : Object.keys(modules)) {
  const { mutate, tests } = modules[name];
  console.log(`\n=== ${name}: ${mutate.join(', ')} ← ${tests.join(', ')}`);
  const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', '--mutate', mutate.join(',')], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MAMORI_MUTATION_TESTS: tests.join(','), MAMORI_MUTATION_MODULE: name },
  });
  if (run.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
