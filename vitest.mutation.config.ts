import { defineConfig } from 'vitest/config';

/**
 * Configuration for mutation runs (`npm run mutation`): only the unit tests that cover the
 * mutated module, named by scripts/mutation.mjs in MAMORI_MUTATION_TESTS. These tests import the
 * sources directly, so dist/ is not built, and nothing runs in parallel with the mutant.
 */
const tests = (process.env.MAMORI_MUTATION_TESTS ?? '').split(',').filter(Boolean);
/** MAMORI_MUTATION_NAMES: only the tests whose full name matches (a module inside a larger suite). */
const names = process.env.MAMORI_MUTATION_NAMES;
if (tests.length === 0) throw new Error('MAMORI_MUTATION_TESTS が空です: scripts/mutation.mjs から実行してください');

export default defineConfig({
  test: {
    include: tests,
    ...(names ? { testNamePattern: new RegExp(names) } : {}),
    testTimeout: 60_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
    minWorkers: 1,
    // One module graph for every mutant run: importing the sources again for each mutant is most of
    // the time of a run. Stryker switches mutants at run time; a static mutant (one only evaluated
    // when a module loads) can then survive wrongly, so static survivors are checked by hand.
    isolate: false,
  },
});
