import { isCommerceError } from '@cartwright/core'
import Stripe from 'stripe'
import { afterEach, describe, expect, it } from 'vitest'
import { stripePayments } from '../src/index.js'
import type { FakeStripeServer } from '../src/testing/index.js'
import { authorizeInput, operationInput, referenceOf, stripeAtFake } from './helpers.js'

let server: FakeStripeServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function setup(options: Parameters<typeof stripeAtFake>[0] = {}) {
  const made = await stripeAtFake(options)
  server = made.server
  return made
}

describe('stripePayments options', () => {
  it('refuses bad options at once with CONFIGURATION naming each field, and never echoes the key', () => {
    let caught: unknown
    try {
      stripePayments({ secretKey: 'pk_test_publishable123', webhookSecret: 'secret', capture: 'later' as 'manual', webhookToleranceSeconds: -1 })
    } catch (error) {
      caught = error
    }
    expect(isCommerceError(caught, 'CONFIGURATION')).toBe(true)
    const error = caught as { message: string; details: { issues: { path: string }[] } }
    expect(error.message).toMatch(/^\[cartwright:payment-stripe\] invalid options: /)
    expect(error.details.issues.map((i) => i.path).sort()).toEqual(['capture', 'secretKey', 'webhookSecret', 'webhookToleranceSeconds'])
    expect(error.message).not.toContain('pk_test_publishable123')
  })

  it('refuses unknown options and a client that is neither a Stripe client nor an endpoint', () => {
    expect(() => stripePayments({ secretKey: 'sk_test_1', webhookSecret: 'whsec_1', apiKey: 'x' } as never)).toThrow(/apiKey: is not a field you can set/)
    expect(() => stripePayments({ secretKey: 'sk_test_1', webhookSecret: 'whsec_1', client: { host: 'localhost' } as never })).toThrow(/client/)
  })

  it('declares manual capture (partial, once) or automatic capture, refunds, voids, retrieve and webhooks', () => {
    const manual = stripePayments({ secretKey: 'sk_test_1', webhookSecret: 'whsec_1' })
    expect(manual.id).toBe('stripe')
    expect(manual.capabilities).toEqual({ capture: true, partialCapture: true, multiCapture: false, refund: true, void: true, retrieve: true, webhooks: true })
    const automatic = stripePayments({ secretKey: 'sk_test_1', webhookSecret: 'whsec_1', capture: 'automatic', id: 'stripe-eu' })
    expect(automatic.id).toBe('stripe-eu')
    expect(automatic.capabilities).toMatchObject({ capture: false, partialCapture: false })
  })

  it('uses a Stripe client it is given', async () => {
    const { server: fake } = await setup()
    const client = new Stripe(fake.secretKey, { ...fake.endpoint, maxNetworkRetries: 0 })
    const stripe = stripePayments({ secretKey: 'sk_test_unused', webhookSecret: 'whsec_1', client })
    expect(stripe.stripe).toBe(client)
    expect(await stripe.authorize(authorizeInput())).toMatchObject({ status: 'authorized' })
    expect(fake.ledger.charges).toHaveLength(1)
  })
})

describe('authorize', () => {
  it('with manual capture holds the amount on a confirmed PaymentIntent and answers authorized with its id', async () => {
    const { server, stripe } = await setup()
    const input = authorizeInput({ amount: 1234, currency: 'USD' })
    const result = await stripe.authorize(input)
    expect(result).toEqual({ status: 'authorized', reference: expect.stringMatching(/^pi_/) })
    const pi = server.paymentIntent(referenceOf(result))!
    expect(pi).toMatchObject({ status: 'requires_capture', amount: 1234, amount_capturable: 1234, amount_received: 0, currency: 'usd', capture_method: 'manual', payment_method: 'pm_card_visa' })
    expect(pi.metadata).toEqual({ cartwright_payment_id: input.paymentId, cartwright_cart_id: input.cartId })
    expect(server.ledger.charges).toEqual([{ paymentIntent: pi.id, amount: 1234, currency: 'usd', captureMethod: 'manual' }])
    expect(server.ledger.captures).toEqual([])
    // The key Stripe saw is derived from Cartwright's, per operation.
    expect(server.ledger.calls[0]).toMatchObject({ method: 'POST', path: '/v1/payment_intents', idempotencyKey: `cw-authorize-${input.idempotencyKey}`, outcome: 'real' })
  })

  it('with automatic capture takes the money at once and answers captured', async () => {
    const { server, stripe } = await setup({ capture: 'automatic' })
    const result = await stripe.authorize(authorizeInput({ amount: 2500 }))
    expect(result).toEqual({ status: 'captured', reference: expect.stringMatching(/^pi_/) })
    expect(server.paymentIntent(referenceOf(result))).toMatchObject({ status: 'succeeded', capture_method: 'automatic', amount_received: 2500 })
    expect(server.ledger.captures).toEqual([{ paymentIntent: referenceOf(result), amount: 2500, currency: 'usd' }])
  })

  it('answers declined with the issuer reason and the PaymentIntent when the card is declined', async () => {
    const { server, stripe } = await setup()
    expect(await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_chargeDeclined' } }))).toEqual({
      status: 'declined',
      reason: 'generic_decline',
      reference: expect.stringMatching(/^pi_/),
    })
    expect(await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_visa_chargeDeclinedInsufficientFunds' } }))).toMatchObject({
      status: 'declined',
      reason: 'insufficient_funds',
    })
    expect(await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_chargeDeclinedExpiredCard' } }))).toMatchObject({ status: 'declined', reason: 'expired_card' })
    expect(server.ledger.charges).toEqual([])
    expect(server.ledger.declines.map((d) => d.code)).toEqual(['generic_decline', 'insufficient_funds', 'expired_card'])
  })

  it('answers declined when Stripe refuses the request itself (an unknown PaymentMethod): nothing was created', async () => {
    const { server, stripe } = await setup()
    expect(await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_does_not_exist' } }))).toEqual({ status: 'declined', reason: 'resource_missing' })
    expect(server.paymentIntents()).toEqual([])
  })

  it('refuses payment data other than one pm_ id before calling Stripe', async () => {
    const { server, stripe } = await setup()
    for (const data of [{}, { paymentMethod: 42 }, { paymentMethod: 'tok_visa' }, { paymentMethod: 'pm_card_visa', cardNumber: '4242424242424242' }, { paymentMethod: 'pm_card visa' }]) {
      expect(await stripe.authorize(authorizeInput({ data })), JSON.stringify(data)).toMatchObject({ status: 'declined', reason: expect.stringMatching(/^payment_method_invalid/) })
    }
    expect(server.ledger.calls).toEqual([])
  })

  it('answers requires_action with the client secret for 3-D Secure, then the PaymentIntent follows the customer', async () => {
    const { server, stripe } = await setup()
    const result = await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_threeDSecure2Required' } }))
    const reference = referenceOf(result)
    const pi = server.paymentIntent(reference)!
    expect(result).toEqual({ status: 'requires_action', reference, action: { type: 'client_secret', clientSecret: pi.client_secret } })
    expect(server.ledger.charges).toEqual([])
    expect(await stripe.retrieve!({ paymentId: 'pay_x', reference })).toEqual({ status: 'requires_action' })

    server.completeAction(reference, 'succeed')
    expect(await stripe.retrieve!({ paymentId: 'pay_x', reference })).toEqual({ status: 'authorized', authorizedAmount: 1234 })
    expect(await stripe.capture!(operationInput(reference, { amount: 1234 }))).toEqual({ status: 'succeeded', reference })
    expect(server.ledger.captures).toEqual([{ paymentIntent: reference, amount: 1234, currency: 'usd' }])
  })

  it('reports a failed customer action as declined on retrieve', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_threeDSecure2Required' } })))
    server.completeAction(reference, 'fail')
    expect(await stripe.retrieve!({ paymentId: 'pay_x', reference })).toEqual({ status: 'declined', reason: 'payment_intent_authentication_failure' })
    expect(server.ledger.charges).toEqual([])
  })

  it('answers a redirect when a return URL is configured', async () => {
    const { server, stripe } = await setup({ returnUrl: 'https://shop.example/checkout/return' })
    const result = await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_threeDSecure2Required' } }))
    expect(result).toEqual({ status: 'requires_action', reference: expect.any(String), action: { type: 'redirect', url: expect.stringMatching(/^http/) } })
    expect(server.paymentIntent(referenceOf(result))?.return_url).toBe('https://shop.example/checkout/return')
  })
})

describe('capture, void, refund and retrieve', () => {
  it('captures in full', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    expect(await stripe.capture!(operationInput(reference, { amount: 5000 }))).toEqual({ status: 'succeeded', reference })
    expect(server.paymentIntent(reference)).toMatchObject({ status: 'succeeded', amount_received: 5000, amount_capturable: 0 })
    expect(await stripe.retrieve!({ paymentId: 'pay_x', reference })).toEqual({ status: 'captured', authorizedAmount: 5000, capturedAmount: 5000, refundedAmount: 0 })
  })

  it('captures in part, once: the rest is released and a second capture is refused as failed', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    expect(await stripe.capture!(operationInput(reference, { amount: 3000 }))).toEqual({ status: 'succeeded', reference })
    expect(server.paymentIntent(reference)).toMatchObject({ amount_received: 3000, amount_capturable: 0 })
    expect(await stripe.capture!(operationInput(reference, { amount: 2000 }))).toEqual({ status: 'failed', reason: 'payment_intent_unexpected_state' })
    expect(server.ledger.captures).toEqual([{ paymentIntent: reference, amount: 3000, currency: 'usd' }])
  })

  it('refuses to capture more than was authorized, as failed, moving nothing', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    expect(await stripe.capture!(operationInput(reference, { amount: 5001 }))).toEqual({ status: 'failed', reason: 'amount_too_large' })
    expect(server.ledger.captures).toEqual([])
    expect(server.paymentIntent(reference)?.status).toBe('requires_capture')
  })

  it('voids an authorization by canceling the PaymentIntent; voiding it again is still succeeded', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    expect(await stripe.void!(operationInput(reference, { amount: 5000 }))).toEqual({ status: 'succeeded', reference })
    expect(server.ledger.cancels).toEqual([{ paymentIntent: reference, released: 5000, currency: 'usd' }])
    expect(await stripe.retrieve!({ paymentId: 'pay_x', reference })).toEqual({ status: 'canceled' })
    // Another operation (another key) finds it canceled already: what a void wants.
    expect(await stripe.void!(operationInput(reference, { amount: 5000 }))).toEqual({ status: 'succeeded', reference })
    expect(server.ledger.cancels).toHaveLength(1)
    // A captured payment cannot be voided.
    const captured = referenceOf(await stripe.authorize(authorizeInput({ amount: 100 })))
    await stripe.capture!(operationInput(captured, { amount: 100 }))
    expect(await stripe.void!(operationInput(captured, { amount: 100 }))).toEqual({ status: 'failed', reason: 'payment_intent_unexpected_state' })
  })

  it('refunds in parts up to what was captured, and retrieve reports the refunded total', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    await stripe.capture!(operationInput(reference, { amount: 4000 }))
    const first = await stripe.refund!(operationInput(reference, { amount: 1500 }))
    expect(first).toEqual({ status: 'succeeded', reference: expect.stringMatching(/^re_/) })
    expect(await stripe.refund!(operationInput(reference, { amount: 2500 }))).toMatchObject({ status: 'succeeded' })
    expect(await stripe.refund!(operationInput(reference, { amount: 1 }))).toEqual({ status: 'failed', reason: 'charge_already_refunded' })
    expect(server.ledger.refunds.map((r) => r.amount)).toEqual([1500, 2500])
    expect(await stripe.retrieve!({ paymentId: 'pay_x', reference })).toEqual({ status: 'captured', authorizedAmount: 5000, capturedAmount: 4000, refundedAmount: 4000 })
  })

  it('refuses to refund more than is left, as failed, moving nothing', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 1000 })))
    await stripe.capture!(operationInput(reference, { amount: 1000 }))
    await stripe.refund!(operationInput(reference, { amount: 600 }))
    expect(await stripe.refund!(operationInput(reference, { amount: 401 }))).toEqual({ status: 'failed', reason: 'amount_too_large' })
    expect(server.ledger.refunds.map((r) => r.amount)).toEqual([600])
  })

  it('retrieve: a declined payment is declined with its reason; an unknown reference is NOT_FOUND', async () => {
    const { stripe } = await setup()
    const declined = await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_chargeDeclined' } }))
    expect(await stripe.retrieve!({ paymentId: 'pay_x', reference: referenceOf(declined) })).toEqual({ status: 'declined', reason: 'generic_decline' })
    await expect(stripe.retrieve!({ paymentId: 'pay_x', reference: 'pi_missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' })
  })

  it('surfaces refused credentials as CONFIGURATION, not as a decline', async () => {
    const { server } = await setup()
    const wrong = stripePayments({ secretKey: 'sk_live_not_accepted_here', webhookSecret: 'whsec_1', client: server.endpoint, maxNetworkRetries: 0 })
    await expect(wrong.authorize(authorizeInput())).rejects.toMatchObject({ code: 'CONFIGURATION' })
    expect(server.ledger.charges).toEqual([])
  })
})
