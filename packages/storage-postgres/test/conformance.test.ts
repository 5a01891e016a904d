import pg from 'pg'
import { describe, it } from 'vitest'
import { numberedParameters, storageConformance } from '@cartwright/testkit'
import { postgresStorage } from '@cartwright/storage-postgres'
import { freshDatabase } from './support/fresh-database.js'

// The same suite as SQLite runs, unchanged: a fresh database per case, four engines writing at once.
storageConformance({
  name: 'postgres',
  concurrency: { writers: 4 },
  async setup() {
    const database = await freshDatabase()
    const pool = new pg.Pool({ connectionString: database.url, max: 2 })
    // pool.end() resolves before its idle clients have closed; DROP DATABASE … WITH (FORCE) in
    // teardown can then terminate one, and an unheard pool 'error' would crash the test run.
    pool.on('error', () => {})
    return {
      adapter: postgresStorage({ connectionString: database.url, pool: { max: 5 } }),
      backdoor: { query: async (text, parameters = []) => (await pool.query(numberedParameters(text), [...parameters])).rows },
      async teardown() {
        await pool.end()
        await database.drop()
      },
    }
  },
}).register({ describe, it })
