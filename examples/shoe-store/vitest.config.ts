import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['cartwright-source', 'import', 'module', 'node', 'default'] },
  // No 'import' for the worker's Node conditions: it makes require('pg-pool') load an ESM build.
  ssr: { resolve: { conditions: ['cartwright-source', 'module', 'node', 'default'] } },
  test: {
    include: ['test/**/*.test.ts'],
    // Uses CARTWRIGHT_PG_URL if set, else starts an embedded PostgreSQL for the run (test/postgres.test.ts).
    globalSetup: ['../../packages/storage-postgres/test/global-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.test-report.json' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
