import { describe } from 'vitest'
import { paymentBooksProperty } from '../support/payment-property.js'

describe('payment operations on one order (SQLite file)', () => {
  paymentBooksProperty('sqlite-file', { runs: 150 })
  paymentBooksProperty('sqlite-file', { runs: 60, multiCapture: true })
})
