import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', 'json'],
    outputFile: { json: '.test-report.json' },
    testTimeout: 60_000,
    // The packed-CLI test builds, packs and installs with npm once, in a beforeAll.
    hookTimeout: 900_000,
  },
})
