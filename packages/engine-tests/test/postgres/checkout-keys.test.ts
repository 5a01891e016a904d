import { describe } from 'vitest'
import { checkoutKeyCases } from '../support/checkout-keys-cases.js'

// The same cases run on SQLite in test/core/checkout-keys.test.ts.
describe('idempotency keys of checkout.complete on PostgreSQL', () => {
  checkoutKeyCases('postgres')
})
