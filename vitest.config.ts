import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // expect.poll waits for an event with a generous deadline (a loaded 2-core machine answers late, not wrongly).
    expect: { poll: { timeout: 20_000 } },
    // End-to-end suites start real collectors and agents: keep the 2-core machine from thrashing.
    maxWorkers: 2,
    minWorkers: 1,
    // dist/ is built from the current sources before any test starts processes from it.
    globalSetup: ['test/setup/build-dist.ts'],
    reporters: ['default', './test/setup/skip-summary.ts'],
  },
});
