import { CURRENCY_CODES, isCommerceError } from '@cartwright/core'
import { afterEach, describe, expect, it } from 'vitest'
import { fromStripeAmount, STRIPE_THREE_DECIMAL, STRIPE_ZERO_DECIMAL, stripeChargeStep, toStripeAmount } from '../src/index.js'
import type { FakeStripeServer } from '../src/testing/index.js'
import { authorizeInput, referenceOf, stripeAtFake } from './helpers.js'

let server: FakeStripeServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('amounts between ISO minor units and Stripe units', () => {
  it('USD 12.34 → 1234, JPY 1000 → 1000, KWD 1.230 → 1230', () => {
    expect(toStripeAmount(1234, 'USD')).toBe(1234)
    expect(toStripeAmount(1000, 'JPY')).toBe(1000)
    expect(toStripeAmount(1230, 'KWD')).toBe(1230)
    expect(toStripeAmount(1230, 'kwd')).toBe(1230)
  })

  it('the special cases: ISK whole krónur in hundredths, MGA whole ariary, HUF and TWD two-decimal', () => {
    expect(toStripeAmount(500, 'ISK')).toBe(50_000)
    expect(fromStripeAmount(50_000, 'isk')).toBe(500)
    expect(toStripeAmount(500, 'MGA')).toBe(5) // ISO counts MGA in hundredths, Stripe in whole ariary
    expect(fromStripeAmount(5, 'mga')).toBe(500)
    expect(toStripeAmount(12_345, 'HUF')).toBe(12_345)
    expect(toStripeAmount(12_345, 'TWD')).toBe(12_345)
    expect(toStripeAmount(7_000, 'UGX')).toBe(7_000)
  })

  it('charge steps: 10 for the three-decimal currencies, 100 for MGA, 1 for the rest', () => {
    for (const code of STRIPE_THREE_DECIMAL) expect(stripeChargeStep(code), code).toBe(10)
    expect(stripeChargeStep('MGA')).toBe(100)
    for (const code of ['USD', 'EUR', 'JPY', 'KRW', 'ISK', 'HUF', 'TWD', 'UGX', 'CLP']) expect(stripeChargeStep(code), code).toBe(1)
  })

  it('refuses KWD 1.234 (not a multiple of 10) with a VALIDATION error naming amount', () => {
    let caught: unknown
    try {
      toStripeAmount(1234, 'KWD')
    } catch (error) {
      caught = error
    }
    expect(isCommerceError(caught, 'VALIDATION')).toBe(true)
    expect((caught as { details: { issues: { path: string }[] } }).details.issues).toEqual([{ path: 'amount', message: expect.stringContaining('steps of 10') }])
    expect(() => toStripeAmount(150, 'MGA')).toThrow(/steps of 100/)
    expect(() => toStripeAmount(12.5, 'USD')).toThrow(/integer/)
    expect(() => toStripeAmount(100, 'XXX')).toThrow(/Unknown currency/)
  })

  it('round-trips every multiple of the step in every currency core knows', () => {
    for (const code of CURRENCY_CODES) {
      const step = stripeChargeStep(code)
      for (const amount of [0, step, 7 * step, 123_456 * step]) expect(fromStripeAmount(toStripeAmount(amount, code), code), `${code} ${amount}`).toBe(amount)
    }
    expect(STRIPE_ZERO_DECIMAL.size).toBe(16)
  })

  it('sends converted amounts to Stripe and refuses KWD 1.234 at the adapter before any request', async () => {
    const made = await stripeAtFake()
    server = made.server
    const { stripe } = made
    expect(stripe.chargeStep!('KWD')).toBe(10)
    const cases: Array<[number, string, number]> = [
      [1234, 'USD', 1234],
      [1000, 'JPY', 1000],
      [1230, 'KWD', 1230],
      [500, 'ISK', 50_000],
    ]
    for (const [amount, currency, sent] of cases) {
      const reference = referenceOf(await stripe.authorize(authorizeInput({ amount, currency })))
      expect(server.paymentIntent(reference), currency).toMatchObject({ amount: sent, currency: currency.toLowerCase() })
      expect(await stripe.retrieve!({ paymentId: 'pay_x', reference })).toMatchObject({ authorizedAmount: amount })
    }
    const calls = server.ledger.calls.length
    await expect(stripe.authorize(authorizeInput({ amount: 1234, currency: 'KWD' }))).rejects.toMatchObject({ code: 'VALIDATION', details: { fields: ['amount'] } })
    expect(server.ledger.calls).toHaveLength(calls)
  })
})
