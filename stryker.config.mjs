// Mutation testing (`npm run mutation`, scripts/mutation.mjs chooses the module and its tests).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'vitest',
  // Only the unit tests of the mutated module, which import the sources: no dist/ build.
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.mutation.json',
  typescriptChecker: { prioritizePerformanceOverAccuracy: true },
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 60_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${process.env.MAMORI_MUTATION_MODULE ?? 'mutation'}.json` },
  ignorePatterns: ['dist', 'var', 'bench/results', 'coverage', 'test-results', 'reports', 'test/browser', 'test/e2e'],
  cleanTempDir: 'always',
};
