import type { AuthorizeInput, PaymentOperationInput } from '@cartwright/core'
import { stripePayments, type StripePayments, type StripePaymentsOptions } from '../src/index.js'
import { startFakeStripe, type FakeStripeServer } from '../src/testing/index.js'

let sequence = 0

/** A fresh fake Stripe and an adapter pointed at it (no SDK retries unless asked: tests count requests). */
export async function stripeAtFake(options: Partial<StripePaymentsOptions> = {}): Promise<{ server: FakeStripeServer; stripe: StripePayments }> {
  const server = await startFakeStripe()
  const stripe = stripePayments({ secretKey: server.secretKey, webhookSecret: server.webhookSecret, client: server.endpoint, maxNetworkRetries: 0, ...options })
  return { server, stripe }
}

/** An authorization as core sends it, with a new payment id and key unless given. */
export function authorizeInput(overrides: Partial<AuthorizeInput> = {}): AuthorizeInput {
  const n = ++sequence
  return {
    paymentId: `pay_test_${n}`,
    idempotencyKey: `pay_test_${n}_key`,
    amount: 1234,
    currency: 'USD',
    cartId: `cart_test_${n}`,
    email: 'ada@example.com',
    data: { paymentMethod: 'pm_card_visa' },
    ...overrides,
  }
}

/** A capture, void or refund as core sends it. */
export function operationInput(reference: string, overrides: Partial<PaymentOperationInput> = {}): PaymentOperationInput {
  const n = ++sequence
  return { paymentId: 'pay_test', operationId: `pop_test_${n}`, reference, idempotencyKey: `pop_test_${n}_key`, amount: 1234, currency: 'USD', ...overrides }
}

/** The reference of an authorization that must have one. */
export function referenceOf(result: { status: string; reference?: string }): string {
  if (!result.reference) throw new Error(`no reference in ${JSON.stringify(result)}`)
  return result.reference
}
