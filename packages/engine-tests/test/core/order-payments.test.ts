import { orderPaymentCases } from '../support/order-payments-cases.js'

orderPaymentCases('sqlite-file')
