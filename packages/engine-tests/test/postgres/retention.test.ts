import { describe } from 'vitest'
import { retentionCases } from '../support/retention-cases.js'

// The same cases run on SQLite in test/core/retention.test.ts.
describe('retention.prune on PostgreSQL', () => {
  retentionCases('postgres')
})
