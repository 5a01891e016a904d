import { describe } from 'vitest'
import { cartIntegrityCases } from '../support/cart-integrity-cases.js'

// The same cases run on SQLite in test/core/cart-integrity.test.ts.
describe('cart integrity on PostgreSQL', () => {
  cartIntegrityCases('postgres')
})
