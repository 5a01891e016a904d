import { describe } from 'vitest'
import { paymentBooksProperty } from '../support/payment-property.js'

describe('payment operations on one order (PostgreSQL)', () => {
  paymentBooksProperty('postgres', { runs: 40 })
  paymentBooksProperty('postgres', { runs: 20, multiCapture: true })
})
