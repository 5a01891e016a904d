import { defineConfig } from 'vitest/config'

export default defineConfig({
  resolve: { conditions: ['cartwright-source', 'import', 'module', 'node', 'default'] },
  // No 'import' here, unlike the other packages: vitest also passes these to the
  // worker as Node `--conditions`, where 'import' makes require('pg-pool') inside
  // pg load pg-pool's ESM build and `new pg.Pool` fails. Vite adds 'import' for
  // ESM imports by itself, so nothing else changes.
  ssr: { resolve: { conditions: ['cartwright-source', 'module', 'node', 'default'] } },
  test: {
    include: ['test/**/*.test.ts'],
    // Uses CARTWRIGHT_PG_URL if set, else starts an embedded PostgreSQL for the run.
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.test-report.json' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
})
