#!/usr/bin/env node
/**
 * Mutation testing of the modules whose bugs lose data or let a violation through, one module
 * per Stryker run: the module's source is mutated and only the unit tests that cover it run
 * (vitest.mutation.config.ts), so each run takes minutes. Slow: not part of `npm test` or CI.
 *
 *   npm run mutation                 every module below, one after another
 *   npm run mutation -- projection   one module (names as below)
 *   npm run mutation -- findings --disableBail
 *                                    options starting with -- go to Stryker; with --disableBail every
 *                                    test covering a mutant runs, so the report says which tests kill it
 *
 * Scores are printed per module and written to reports/mutation/<module>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * `file:first-last`, the lines from the one matching `from` to the next one matching `to`: a
 * part of a larger file, found by its text so that edits elsewhere in the file do not move it.
 */
function linesOf(file, from, to) {
  const lines = readFileSync(resolve(import.meta.dirname, '..', file), 'utf8').split('\n');
  const first = lines.findIndex((l) => from.test(l));
  const last = first < 0 ? -1 : lines.findIndex((l, i) => i > first && to.test(l));
  if (first < 0 || last < 0) throw new Error(`${file}: ${from} … ${to} が見つかりません`);
  return `${file}:${first + 1}-${last + 1}`;
}

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
  // Rule evaluation: the truth tables, each-rules, list membership (the 媒体管理台帳 match).
  evaluate: {
    mutate: ['src/shared/catalogue/evaluate.ts'],
    tests: [
      'test/shared/catalogue/evaluate.test.ts',
      'test/shared/catalogue/evaluate-reasons.test.ts',
      'test/shared/catalogue/rules.test.ts',
      'test/shared/catalogue/reasons-ja.test.ts',
      'test/agent/checks/usb-ledger-serial.test.ts',
    ],
  },
  // Who may do what in the console, and the 課 scope of an account.
  authz: {
    mutate: ['src/collector/console/authz.ts'],
    tests: ['test/console/authz-roles.test.ts'],
  },
  // Violations opened and closed, facts and results sent when they change, 例外措置.
  findings: {
    mutate: ['agent/findings.ts'],
    tests: ['test/agent/findings.test.ts', 'test/agent/findings-open-close.test.ts'],
  },
  // The journal: numbering, acknowledgement, recovery, size cap and full disk; and the cut to the wire limits.
  outbox: {
    mutate: ['agent/outbox/outbox.ts', 'agent/outbox/validate.ts'],
    tests: ['test/agent/outbox.test.ts', 'test/agent/outbox-journal.test.ts', 'test/agent/outbox-full-disk.test.ts', 'test/agent/outbox-edges.test.ts', 'test/agent/validate.test.ts', 'test/agent/validate-cut.test.ts', 'test/agent/outbox-recovery.test.ts', 'test/agent/validate-limits.test.ts'],
  },
  // The gateway's checks of the sequence numbers of an events frame (holes, gaps, resends).
  'gateway-sequence': {
    mutate: [linesOf('src/collector/gateway/gateway.ts', /private onEvents\(/, /^\s*s\.expected = expected;/)],
    tests: ['test/collector/gateway-limits.test.ts', 'test/collector/gateway-sequence.test.ts'],
  },
  // The agent side of the connection: where it resumes after the welcome, acks, the window of batches.
  'link-resume': {
    mutate: [linesOf('agent/link/link.ts', /case 'welcome': \{/, /case 'scan\.request':/), linesOf('agent/link/link.ts', /private pump\(\): void/, /^  \}$/)],
    tests: ['test/agent/link-resume.test.ts'],
  },
  // Exactly-once ingest and the projections it writes, in both stores: the SQLite store's connection
  // (what its writer thread runs) and PostgreSQL (needs PostgreSQL at 127.0.0.1:5432, database test;
  // without it the PostgreSQL half is skipped and its mutants have no coverage).
  ingest: {
    mutate: [
      linesOf('src/collector/store/sqlite/connection-store.ts', /private apply\(op: ProjectionOp/, /return \{ stored, rejected \};/),
      'src/collector/store/postgres/ingest.ts',
      linesOf('src/collector/store/postgres/postgres-store.ts', /async ingest\(batches/, /^  \}$/),
    ],
    tests: ['test/collector/store.contract.test.ts', 'test/collector/pg-ingest-retry.test.ts'],
    // The contract's ingest, projection and scan tests on the SQLite connection and on PostgreSQL
    // (the SQLite store behind its thread runs dist/, which mutants do not reach), and the retry
    // of a flush after a deadlock or serialization failure.
    names: /^(store contract: (sqlite connection|postgres) (ingest exactly once|projections|scan requests) |postgres ingest retry )/,
  },
  // Enrollment tokens: what a token holds, and the installer's check that refuses as the enrollment does.
  'enrollment-tokens': {
    mutate: ['src/collector/tokens.ts', 'src/collector/enrollment/token-check.ts'],
    tests: ['test/collector/enrollment-tokens.test.ts'],
  },
};

const root = resolve(import.meta.dirname, '..');
const stryker = resolve(root, 'node_modules/@stryker-mutator/core/bin/stryker.js');
if (!existsSync(stryker)) {
  console.error('StrykerJS がインストールされていません: npm install --save-dev @stryker-mutator/core @stryker-mutator/vitest-runner @stryker-mutator/typescript-checker');
  process.exit(2);
}
const asked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const options = process.argv.slice(2).filter((a) => a.startsWith('--'));
for (const name of asked) if (!(name in modules)) throw new Error(`不明なモジュール: ${name}（${Object.keys(modules).join(', ')}）`);
let failed = false;
for (const name of asked.length > 0 ? asked : Object.keys(modules)) {
  const { mutate, tests, names } = modules[name];
  console.log(`\n=== ${name}: ${mutate.join(', ')} ← ${tests.join(', ')}`);
  // The TypeScript checker compiles the mutated files and what they import, not the whole project:
  // a mutant is refused when it does not compile in its own module (the check that matters), and a
  // run does not spend most of its time re-checking agent/ and src/ for every mutant.
  const files = [...new Set(mutate.map((m) => m.replace(/:\d+-\d+$/, '')))];
  writeFileSync(resolve(root, 'tsconfig.mutation.json'), `${JSON.stringify({ extends: './tsconfig.json', include: [], files }, null, 2)}\n`);
  const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', '--mutate', mutate.join(','), ...options], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, MAMORI_MUTATION_TESTS: tests.join(','), MAMORI_MUTATION_MODULE: name, ...(names ? { MAMORI_MUTATION_NAMES: names.source } : {}) },
  });
  if (run.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
