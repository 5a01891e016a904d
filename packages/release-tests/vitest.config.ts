import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.test-report.json' },
    // Building, packing and installing with npm (better-sqlite3 compiles from source when no
    // prebuilt binary can be fetched) happens once, in a beforeAll.
    testTimeout: 60_000,
    hookTimeout: 600_000,
  },
})
