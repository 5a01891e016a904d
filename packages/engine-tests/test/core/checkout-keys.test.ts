import { describe } from 'vitest'
import { checkoutKeyCases } from '../support/checkout-keys-cases.js'

// The same cases run on PostgreSQL in test/postgres/checkout-keys.test.ts.
describe('idempotency keys of checkout.complete on a SQLite file', () => {
  checkoutKeyCases('sqlite-file')
})
