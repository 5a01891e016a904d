import { isCommerceError } from '@cartwright/core'
import { afterEach, describe, expect, it } from 'vitest'
import { stripeIdempotencyKey } from '../src/index.js'
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

describe('idempotency keys', () => {
  it('derives one Stripe key per operation from Cartwright key, within Stripe 255 characters', () => {
    expect(stripeIdempotencyKey('authorize', 'pay_01ABC')).toBe('cw-authorize-pay_01ABC')
    expect(stripeIdempotencyKey('refund', 'pay_01ABC')).not.toBe(stripeIdempotencyKey('capture', 'pay_01ABC'))
    const long = 'k'.repeat(255)
    const derived = stripeIdempotencyKey('capture', long)
    expect(derived).toMatch(/^cw-capture-sha256-[0-9a-f]{64}$/)
    expect(stripeIdempotencyKey('capture', long)).toBe(derived)
    expect(stripeIdempotencyKey('capture', `${'k'.repeat(254)}j`)).not.toBe(derived)
  })

  it('an authorization sent again with the same key is replayed by Stripe: one charge, the same PaymentIntent', async () => {
    const { server, stripe } = await setup()
    const input = authorizeInput()
    const first = await stripe.authorize(input)
    const again = await Promise.all([stripe.authorize(input), stripe.authorize(input)])
    expect(again).toEqual([first, first])
    expect(server.ledger.charges).toHaveLength(1)
    expect(server.paymentIntents()).toHaveLength(1)
    expect(server.ledger.requests).toMatchObject({ real: 1, replayed: 2 })
  })

  it('a decline sent again with the same key is replayed as the same decline, with no second attempt', async () => {
    const { server, stripe } = await setup()
    const input = authorizeInput({ data: { paymentMethod: 'pm_card_chargeDeclined' } })
    const first = await stripe.authorize(input)
    expect(await stripe.authorize(input)).toEqual(first)
    expect(server.ledger.declines).toHaveLength(1)
  })

  it('the same key with other parameters is a typed CONFLICT, and nothing more is charged', async () => {
    const { server, stripe } = await setup()
    const input = authorizeInput({ amount: 1000 })
    await stripe.authorize(input)
    let caught: unknown
    try {
      await stripe.authorize({ ...input, amount: 2000 })
    } catch (error) {
      caught = error
    }
    expect(isCommerceError(caught, 'CONFLICT')).toBe(true)
    expect((caught as { details: Record<string, unknown> }).details).toMatchObject({ stripeError: 'idempotency_error', paymentId: input.paymentId })
    expect((caught as { retryable: boolean }).retryable).toBe(false)
    expect(server.ledger.charges.map((c) => c.amount)).toEqual([1000])
    expect(server.ledger.requests.idempotency_error).toBe(1)
  })

  it('a capture and a refund sent again with their keys move money once', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    const capture = operationInput(reference, { amount: 3000 })
    expect(await stripe.capture!(capture)).toEqual({ status: 'succeeded', reference })
    expect(await stripe.capture!(capture)).toEqual({ status: 'succeeded', reference })
    const refund = operationInput(reference, { amount: 1000 })
    const refunded = await stripe.refund!(refund)
    expect(await stripe.refund!(refund)).toEqual(refunded)
    expect(server.ledger.captures.map((c) => c.amount)).toEqual([3000])
    expect(server.ledger.refunds.map((r) => r.amount)).toEqual([1000])
  })
})

describe('lost answers and stalls', () => {
  it('an authorization whose answer is lost (twice: the SDK retries a reset connection once) throws PROVIDER with the outcome unknown; the retry with the same key is replayed: one charge', async () => {
    const { server, stripe } = await setup()
    server.fault({ fault: 'lose', method: 'POST', path: '/v1/payment_intents', times: 2 })
    const input = authorizeInput()
    let caught: unknown
    try {
      await stripe.authorize(input)
    } catch (error) {
      caught = error
    }
    expect(isCommerceError(caught, 'PROVIDER')).toBe(true)
    expect(caught).toMatchObject({ retryable: true, details: { outcomeUnknown: true } })
    // Stripe acted: the money is held, though nobody heard.
    expect(server.ledger.charges).toHaveLength(1)
    expect(server.ledger.requests).toMatchObject({ lost: 2 })

    const retried = await stripe.authorize(input)
    expect(retried).toEqual({ status: 'authorized', reference: server.ledger.charges[0]!.paymentIntent })
    expect(server.ledger.charges).toHaveLength(1)
    expect(server.ledger.requests).toMatchObject({ real: 0, replayed: 1, lost: 2 })
  })

  it('a capture whose answer is lost once is retried by the SDK with the same key and replayed: one capture', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    server.fault({ fault: 'lose', path: /\/capture$/ })
    expect(await stripe.capture!(operationInput(reference, { amount: 5000 }))).toEqual({ status: 'succeeded', reference })
    expect(server.ledger.captures).toHaveLength(1)
    expect(server.ledger.calls.filter((c) => c.path.endsWith('/capture')).map((c) => c.outcome)).toEqual(['lost', 'replayed'])
  })

  it('a refund whose answer is lost, retried by core with the same key, refunds once', async () => {
    const { server, stripe } = await setup()
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    await stripe.capture!(operationInput(reference, { amount: 5000 }))
    server.fault({ fault: 'lose', path: '/v1/refunds', times: 2 })
    const refund = operationInput(reference, { amount: 2000 })
    await expect(stripe.refund!(refund)).rejects.toMatchObject({ code: 'PROVIDER', details: { outcomeUnknown: true } })
    expect(await stripe.refund!(refund)).toMatchObject({ status: 'succeeded' })
    expect(server.ledger.refunds.map((r) => r.amount)).toEqual([2000])
  })

  it('a gateway that stalls past the timeout: unknown outcome, then "in flight" while it still runs, then the replay of what it did: one charge', async () => {
    const { server, stripe } = await setup({ timeoutMs: 150 })
    server.fault({ fault: 'hang', path: '/v1/payment_intents' })
    const input = authorizeInput()
    await expect(stripe.authorize(input)).rejects.toMatchObject({ code: 'PROVIDER', details: { outcomeUnknown: true } })
    // Still running at Stripe: the same key is refused as in flight, and the outcome stays unknown.
    await expect(stripe.authorize(input)).rejects.toMatchObject({ code: 'PROVIDER', retryable: true })
    expect(server.ledger.requests.in_flight).toBe(1)
    expect(server.ledger.charges).toHaveLength(0)

    server.release()
    await until(() => server.ledger.charges.length === 1)
    expect(await stripe.authorize(input)).toEqual({ status: 'authorized', reference: server.ledger.charges[0]!.paymentIntent })
    expect(server.ledger.charges).toHaveLength(1)
  })

  it('a connection reset before Stripe acts charges nothing, and the SDK own retry goes through once', async () => {
    const { server, stripe } = await setup()
    server.fault({ fault: 'reset', path: '/v1/payment_intents' })
    expect(await stripe.authorize(authorizeInput())).toMatchObject({ status: 'authorized' })
    expect(server.ledger.calls.map((c) => c.outcome)).toEqual(['reset', 'real'])
    expect(server.ledger.charges).toHaveLength(1)
  })
})

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
