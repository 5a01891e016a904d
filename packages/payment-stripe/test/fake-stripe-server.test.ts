import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeStripe, type FakeStripeServer } from '../src/testing/index.js'

// The fake's own contract, over raw HTTP as the SDK speaks it (form-encoded bodies, bearer key).

let server: FakeStripeServer
beforeEach(async () => {
  server = await startFakeStripe()
})
afterEach(() => server.close())

function post(path: string, body: string, key?: string, apiKey = server.secretKey) {
  return fetch(`${server.url}${path}`, {
    method: 'POST',
    body,
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/x-www-form-urlencoded', ...(key ? { 'idempotency-key': key } : {}) },
  })
}

const create = 'amount=1234&currency=usd&capture_method=manual&confirm=true&payment_method=pm_card_visa&metadata[order]=A%26B'

describe('the fake Stripe server', () => {
  it('replays the first answer under a key byte for byte, marked as replayed', async () => {
    const first = await post('/v1/payment_intents', create, 'key-1')
    const firstBody = await first.text()
    const again = await post('/v1/payment_intents', create, 'key-1')
    expect(again.status).toBe(first.status)
    expect(await again.text()).toBe(firstBody)
    expect(again.headers.get('idempotent-replayed')).toBe('true')
    expect(JSON.parse(firstBody)).toMatchObject({ object: 'payment_intent', status: 'requires_capture', metadata: { order: 'A&B' } })
    expect(server.ledger.charges).toHaveLength(1)
    expect(server.ledger.requests).toMatchObject({ real: 1, replayed: 1 })
  })

  it('answers the same key with other parameters 400 idempotency_error, Stripe-shaped', async () => {
    await post('/v1/payment_intents', create, 'key-2')
    const other = await post('/v1/payment_intents', create.replace('1234', '1235'), 'key-2')
    expect(other.status).toBe(400)
    expect(await other.json()).toMatchObject({ error: { type: 'idempotency_error', message: expect.stringContaining('same parameters') } })
    expect(server.ledger.charges).toHaveLength(1)
  })

  it('does not keep a key whose request failed its parameter checks', async () => {
    const bad = await post('/v1/payment_intents', 'currency=usd&confirm=true&payment_method=pm_card_visa', 'key-3')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'parameter_missing', param: 'amount' } })
    expect((await post('/v1/payment_intents', create, 'key-3')).status).toBe(200)
    expect(server.ledger.charges).toHaveLength(1)
  })

  it('refuses a missing or foreign API key with 401, and an unknown URL with 404', async () => {
    expect((await post('/v1/payment_intents', create, undefined, 'pk_test_publishable')).status).toBe(401)
    const unknown = await post('/v1/charges', 'amount=1')
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
    expect(server.ledger.charges).toHaveLength(0)
  })

  it('refuses KWD amounts whose last digit is not 0 and ISK amounts not in whole krónur', async () => {
    expect((await post('/v1/payment_intents', create.replace('currency=usd', 'currency=kwd'))).status).toBe(400)
    expect((await post('/v1/payment_intents', create.replace('amount=1234', 'amount=1230').replace('currency=usd', 'currency=kwd'))).status).toBe(200)
    const isk = await post('/v1/payment_intents', create.replace('currency=usd', 'currency=isk'))
    expect(await isk.json()).toMatchObject({ error: { code: 'invalid_charge_amount_no_decimal_compatible' } })
  })

  it('declines with a 402 card_error carrying the PaymentIntent, and records the events Stripe would send', async () => {
    const declined = await post('/v1/payment_intents', create.replace('pm_card_visa', 'pm_card_chargeDeclined'), 'key-4')
    expect(declined.status).toBe(402)
    const { error } = (await declined.json()) as { error: { payment_intent: { id: string; status: string } } }
    expect(error).toMatchObject({ type: 'card_error', code: 'card_declined', decline_code: 'generic_decline', payment_intent: { status: 'requires_payment_method' } })
    expect(server.events().map((e) => e.type)).toEqual(['payment_intent.created', 'payment_intent.payment_failed'])
    expect(server.events('payment_intent.payment_failed')[0]?.request.idempotency_key).toBe('key-4')
  })
})
