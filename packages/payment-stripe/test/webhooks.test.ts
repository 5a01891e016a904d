import { createHmac } from 'node:crypto'
import { isCommerceError, type GatewayEvent, type WebhookRequest } from '@cartwright/core'
import Stripe from 'stripe'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StripeWebhookError, stripePayments, type StripePayments } from '../src/index.js'
import { sendWebhook, signedEvent, type FakeStripeServer, type SignedEvent } from '../src/testing/index.js'
import { authorizeInput, operationInput, referenceOf, stripeAtFake } from './helpers.js'

const secret = 'whsec_test_webhooks_secret'
const provider = stripePayments({ secretKey: 'sk_test_webhooks', webhookSecret: secret, webhookToleranceSeconds: 300 })
const verify = (rawBody: string | Uint8Array, headers: Record<string, string | string[] | undefined>) => provider.webhooks!.verify({ rawBody, headers }) as GatewayEvent[]
const nowSeconds = () => Math.floor(Date.now() / 1000)
const succeeded = (options: { timestamp?: number } = {}) =>
  signedEvent('payment_intent.succeeded', { id: 'pi_hooks_1', object: 'payment_intent', amount: 1234, amount_received: 1234, currency: 'usd', status: 'succeeded' }, { secret, ...options })

/** The reason `verify` refused a request, or 'accepted'. */
function outcome(rawBody: string | Uint8Array, headers: Record<string, string | string[] | undefined>): string {
  try {
    verify(rawBody, headers)
    return 'accepted'
  } catch (error) {
    if (!(error instanceof StripeWebhookError)) throw error
    expect(isCommerceError(error, 'VALIDATION')).toBe(true)
    return error.reason
  }
}

const v1 = (payload: string, timestamp: number, key = secret) => createHmac('sha256', key).update(`${timestamp}.${payload}`).digest('hex')

describe('webhook signatures', () => {
  it('accepts a delivery signed by the SDK own test helper, and returns its events', () => {
    const delivery = succeeded()
    expect(verify(delivery.payload, delivery.headers)).toEqual([
      { id: delivery.id, type: 'captured', reference: 'pi_hooks_1', amount: 1234, currency: 'USD', occurredAt: new Date(delivery.event.created * 1000).toISOString() },
    ])
  })

  it('accepts the raw body as bytes, and the header under any capitalization', () => {
    const delivery = succeeded()
    expect(outcome(new TextEncoder().encode(delivery.payload), { 'Stripe-Signature': delivery.headers['stripe-signature'] })).toBe('accepted')
    expect(outcome(Buffer.from(delivery.payload), { 'STRIPE-SIGNATURE': delivery.headers['stripe-signature'] })).toBe('accepted')
  })

  it('refuses a body with one byte changed', () => {
    const delivery = succeeded()
    const tampered = delivery.payload.replace('"amount_received": 1234', '"amount_received": 1235')
    expect(tampered).not.toBe(delivery.payload)
    expect(outcome(tampered, delivery.headers)).toBe('signature_mismatch')
    const flipped = Buffer.from(delivery.payload)
    flipped[flipped.length - 2] = flipped[flipped.length - 2]! ^ 1
    expect(outcome(flipped, delivery.headers)).toBe('signature_mismatch')
  })

  it('refuses a body re-serialized from its parsed JSON (what a JSON body parser hands over)', () => {
    const delivery = succeeded()
    const reserialized = JSON.stringify(JSON.parse(delivery.payload))
    expect(JSON.parse(reserialized)).toEqual(delivery.event)
    expect(outcome(reserialized, delivery.headers)).toBe('signature_mismatch')
  })

  it('refuses a timestamp older than the tolerance, and accepts one just inside it', () => {
    const stale = succeeded({ timestamp: nowSeconds() - 400 })
    expect(outcome(stale.payload, stale.headers)).toBe('timestamp_too_old')
    const recent = succeeded({ timestamp: nowSeconds() - 250 })
    expect(outcome(recent.payload, recent.headers)).toBe('accepted')
  })

  it('refuses a timestamp further in the future than the tolerance, which the SDK own check lets through', () => {
    const early = succeeded({ timestamp: nowSeconds() + 400 })
    expect(outcome(early.payload, early.headers)).toBe('timestamp_in_future')
    // The SDK's check looks at old timestamps only.
    expect(Stripe.webhooks.constructEvent(early.payload, early.headers['stripe-signature'], secret, 300).id).toBe(early.id)
    const soon = succeeded({ timestamp: nowSeconds() + 250 })
    expect(outcome(soon.payload, soon.headers)).toBe('accepted')
  })

  it('refuses a missing or empty header', () => {
    const delivery = succeeded()
    expect(outcome(delivery.payload, { 'content-type': 'application/json' })).toBe('missing_header')
    expect(outcome(delivery.payload, { 'stripe-signature': '' })).toBe('missing_header')
    expect(outcome(delivery.payload, { 'stripe-signature': [] })).toBe('missing_header')
  })

  it('refuses a malformed header', () => {
    const delivery = succeeded()
    const t = delivery.event.created
    const good = v1(delivery.payload, t)
    for (const header of [
      'garbage',
      `v1=${good}`, // no timestamp
      `t=${t}`, // no signature
      `t=${t},v0=${good}`, // only a scheme that is not trusted
      `t=${t}abc,v1=${good}`,
      `t=${t},t=${t},v1=${good}`,
      `t=${t},v1=${good},=x`,
    ]) {
      expect(outcome(delivery.payload, { 'stripe-signature': header }), header).toBe('malformed_header')
    }
    expect(outcome(delivery.payload, { 'stripe-signature': [delivery.headers['stripe-signature'], delivery.headers['stripe-signature']] })).toBe('malformed_header')
  })

  it('accepts two v1 values of which one is valid, in either order; refuses when none is', () => {
    const delivery = succeeded()
    const t = delivery.event.created
    const good = v1(delivery.payload, t)
    const old = v1(delivery.payload, t, 'whsec_rolled_previous_secret')
    expect(outcome(delivery.payload, { 'stripe-signature': `t=${t},v1=${old},v1=${good}` })).toBe('accepted')
    expect(outcome(delivery.payload, { 'stripe-signature': `t=${t},v1=${good},v1=${old}` })).toBe('accepted')
    expect(outcome(delivery.payload, { 'stripe-signature': `t=${t},v1=${old},v1=${'0'.repeat(64)}` })).toBe('signature_mismatch')
    expect(outcome(delivery.payload, { 'stripe-signature': `t=${t},v1=short,v1=${good}` })).toBe('accepted')
  })

  it('refuses a signature made with another secret, or over another timestamp', () => {
    const delivery = signedEvent('payment_intent.succeeded', { id: 'pi_1', object: 'payment_intent' }, { secret: 'whsec_someone_else' })
    expect(outcome(delivery.payload, delivery.headers)).toBe('signature_mismatch')
    const ours = succeeded()
    const moved = ours.headers['stripe-signature'].replace(/t=(\d+)/, (_, t: string) => `t=${Number(t) - 1}`)
    expect(outcome(ours.payload, { 'stripe-signature': moved })).toBe('signature_mismatch')
  })

  it('refuses a signed body that is not a Stripe event', () => {
    const t = nowSeconds()
    for (const payload of ['not json', '{"id":"evt_1"}', '[]']) {
      expect(outcome(payload, { 'stripe-signature': `t=${t},v1=${v1(payload, t)}` }), payload).toBe('malformed_body')
    }
  })

  it('sendWebhook answers 400 for a refused delivery and 200 with the events for an accepted one', async () => {
    const handler = (request: WebhookRequest) => provider.webhooks!.verify(request)
    const ok = await sendWebhook(handler, succeeded())
    expect(ok).toMatchObject({ ok: true, status: 200, result: [{ type: 'captured' }] })
    const refused = await sendWebhook(handler, succeeded({ timestamp: nowSeconds() - 1000 }))
    expect(refused).toMatchObject({ ok: false, status: 400 })
    expect(refused.error).toBeInstanceOf(StripeWebhookError)
  })
})

describe('webhook events, as the fake server records them for what happened', () => {
  let server: FakeStripeServer
  let stripe: StripePayments
  beforeAll(async () => {
    ;({ server, stripe } = await stripeAtFake())
  })
  afterAll(() => server.close())

  const deliver = (delivery: SignedEvent) => stripe.webhooks!.verify({ rawBody: delivery.payload, headers: delivery.headers }) as GatewayEvent[]
  const eventsOf = (reference: string, type: string) => server.events(type).filter((e) => (e.data.object['payment_intent'] ?? e.data.object['id']) === reference)
  const mapped = (reference: string, type: string) => eventsOf(reference, type).flatMap((e) => deliver(server.signedEvent(e)))

  it('maps an authorization, a partial capture, refunds, a dispute and its close', async () => {
    const reference = referenceOf(await stripe.authorize(authorizeInput({ amount: 5000 })))
    await stripe.capture!(operationInput(reference, { amount: 4000 }))
    await stripe.refund!(operationInput(reference, { amount: 1000 }))
    await stripe.refund!(operationInput(reference, { amount: 500 }))
    expect(mapped(reference, 'payment_intent.amount_capturable_updated')).toMatchObject([{ type: 'authorized', reference, amount: 5000, currency: 'USD' }])
    expect(mapped(reference, 'payment_intent.succeeded')).toMatchObject([{ type: 'captured', reference, amount: 4000 }])
    // charge.refunded carries the running total: each event is mapped to its own refund.
    expect(mapped(reference, 'charge.refunded')).toMatchObject([{ type: 'refunded', reference, amount: 1000 }, { type: 'refunded', reference, amount: 500 }])
    expect(mapped(reference, 'refund.created')).toMatchObject([{ type: 'refunded', reference, amount: 1000 }, { type: 'refunded', reference, amount: 500 }])
    const opened = deliver(server.signedEvent(server.dispute(reference)))
    expect(opened).toMatchObject([{ type: 'dispute.opened', reference, amount: 2500, reason: 'fraudulent' }])
    expect(deliver(server.signedEvent(server.dispute(reference, 'lost')))).toMatchObject([{ type: 'dispute.closed', reference, reason: 'lost' }])
  })

  it('maps a decline, a void, a 3-D Secure wait and its failure', async () => {
    const declined = referenceOf(await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_chargeDeclined' } })))
    expect(mapped(declined, 'payment_intent.payment_failed')).toMatchObject([{ type: 'failed', reference: declined, reason: 'generic_decline' }])
    const voided = referenceOf(await stripe.authorize(authorizeInput()))
    await stripe.void!(operationInput(voided))
    expect(mapped(voided, 'payment_intent.canceled')).toMatchObject([{ type: 'canceled', reference: voided }])
    const secure = referenceOf(await stripe.authorize(authorizeInput({ data: { paymentMethod: 'pm_card_threeDSecure2Required' } })))
    expect(mapped(secure, 'payment_intent.requires_action')).toEqual([expect.objectContaining({ type: 'requires_action', reference: secure })])
    server.completeAction(secure, 'fail')
    expect(mapped(secure, 'payment_intent.payment_failed')).toMatchObject([{ type: 'failed', reference: secure, reason: 'payment_intent_authentication_failure' }])
  })

  it('converts amounts to ISO minor units (JPY, KWD)', async () => {
    const yen = referenceOf(await stripe.authorize(authorizeInput({ amount: 1000, currency: 'JPY' })))
    expect(mapped(yen, 'payment_intent.amount_capturable_updated')).toMatchObject([{ amount: 1000, currency: 'JPY' }])
    const dinar = referenceOf(await stripe.authorize(authorizeInput({ amount: 1230, currency: 'KWD' })))
    expect(mapped(dinar, 'payment_intent.amount_capturable_updated')).toMatchObject([{ amount: 1230, currency: 'KWD' }])
    const krona = signedEvent('payment_intent.succeeded', { id: 'pi_isk', object: 'payment_intent', amount_received: 50_000, currency: 'isk' }, { secret: server.webhookSecret })
    expect(deliver(krona)).toMatchObject([{ amount: 500, currency: 'ISK' }])
  })

  it('ignores event types it does not use, and a refund that has not succeeded', () => {
    expect(deliver(server.signedEvent('customer.created', { id: 'cus_1', object: 'customer' }))).toEqual([])
    expect(deliver(server.signedEvent('payment_intent.created', { id: 'pi_1', object: 'payment_intent' }))).toEqual([])
    expect(deliver(server.signedEvent('refund.created', { id: 're_1', object: 'refund', status: 'pending', amount: 100, currency: 'usd', payment_intent: 'pi_1' }))).toEqual([])
    expect(
      deliver(server.signedEvent('refund.updated', { id: 're_1', object: 'refund', status: 'succeeded', amount: 100, currency: 'usd', payment_intent: 'pi_1' }, { previousAttributes: { status: 'pending' } })),
    ).toMatchObject([{ type: 'refunded', reference: 'pi_1', amount: 100 }])
  })
})
