// @ts-check
import { createRequire } from 'node:module'

/**
 * Mutation testing of the code that keeps money and stock right, on demand (not in CI):
 *
 *   npx -y pnpm@10 mutation                                      # every file below
 *   npx -y pnpm@10 mutation --mutate packages/core/src/allocation.ts   # one file
 *
 * Run from the repository root (the root package.json's `mutation` script does). Paths are
 * relative to it. See docs/mutation-testing.md for what the scores mean and the latest ones.
 *
 * @type {import('@stryker-mutator/api/core').PartialStrykerOptions}
 */
export default {
  mutate: [
    'packages/core/src/allocation.ts',
    'packages/core/src/services/checkout-service.ts',
    'packages/core/src/services/inventory-service.ts',
    'packages/core/src/services/order-service.ts',
    'packages/core/src/services/payment-operations.ts',
  ],
  testRunner: 'vitest',
  // By path: under pnpm, Stryker's own node_modules cannot see the runner.
  plugins: [createRequire(import.meta.url).resolve('@stryker-mutator/vitest-runner')],
  vitest: { configFile: 'packages/engine-tests/vitest.mutation.config.ts', related: false },
  // Each mutant runs only the tests that reached it in the first (dry) run.
  coverageAnalysis: 'perTest',
  // The machine's cores are shared: never more than two test processes.
  concurrency: 2,
  timeoutMS: 10_000,
  // Only what the engine tests need is copied into the sandbox; node_modules are linked.
  ignorePatterns: [
    '/*',
    '!/package.json',
    '!/tsconfig*.json',
    '!/packages',
    '/packages/*',
    '!/packages/core',
    '!/packages/engine-tests',
    '!/packages/storage-sqlite',
    '!/packages/storage-postgres',
    '!/packages/testkit',
    'dist',
    '*.db',
    '*.db-wal',
    '*.db-shm',
    '.pg-data',
    '.test-report.json',
  ],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
}
