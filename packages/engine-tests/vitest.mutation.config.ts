import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

/**
 * The engine tests as the mutation runs use them (see stryker.config.mjs and
 * docs/mutation-testing.md): the SQLite tests of checkout, inventory, orders and payments, in one
 * process, without PostgreSQL. Not a CI config.
 *
 * Stryker runs these tests in a sandbox copy of the repository whose node_modules are links back
 * to the working tree, so `@cartwright/*` would resolve to the working tree's sources, not to the
 * sandbox's mutated ones: the aliases point every `@cartwright/*` import (the tests', and those of
 * the storage adapters and the testkit) at the sources beside this file.
 */
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

export default defineConfig({
  root: here('.'),
  resolve: {
    conditions: ['cartwright-source', 'import', 'module', 'node', 'default'],
    alias: [{ find: /^@cartwright\/(core|storage-sqlite|storage-postgres|testkit)$/, replacement: here('../$1/src/index.ts') }],
  },
  ssr: { resolve: { conditions: ['cartwright-source', 'module', 'node', 'default'] } },
  test: {
    include: ['test/core/**/*.test.ts', 'test/guards/**/*.test.ts'],
    exclude: [
      // Several processes: their engines run the working tree's code, never a mutant, and they are slow.
      'test/core/oversell.test.ts',
      'test/core/payment-crash.test.ts',
      'test/core/validation.test.ts',
    ],
    // The guard tests run on SQLite only here (GUARDED_STORAGES); test/postgres/** is not included.
    env: { CARTWRIGHT_SKIP_POSTGRES: '1' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
