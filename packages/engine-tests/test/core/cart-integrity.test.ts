import { describe } from 'vitest'
import { cartIntegrityCases } from '../support/cart-integrity-cases.js'

// The same cases run on PostgreSQL in test/postgres/cart-integrity.test.ts.
describe('cart integrity on a SQLite file', () => {
  cartIntegrityCases('sqlite-file')
})
