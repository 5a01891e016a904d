import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startFakeStripe, type FakeStripeServer } from '../src/testing/index.js'

// What the fake's Stripe.js calls, over raw HTTP with the publishable key, as a browser sends it.

let server: FakeStripeServer
beforeEach(async () => {
  server = await startFakeStripe()
})
afterEach(() => server.close())

const post = (path: string, fields: Record<string, string>, key = server.publishableKey) =>
  fetch(`${server.url}${path}`, { method: 'POST', body: new URLSearchParams(fields), headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' } })

const card = (number: string) => ({ type: 'card', 'card[number]': number, 'card[exp_month]': '12', 'card[exp_year]': String((new Date().getUTCFullYear() + 2) % 100), 'card[cvc]': '123' })

async function paymentMethod(number: string): Promise<string> {
  const answer = await post('/v1/payment_methods', card(number))
  expect(answer.status).toBe(200)
  return ((await answer.json()) as { id: string }).id
}

async function confirm(pm: string) {
  const answer = await post('/v1/payment_intents', { amount: '5000', currency: 'eur', capture_method: 'manual', confirm: 'true', payment_method: pm }, server.secretKey)
  return { status: answer.status, body: (await answer.json()) as { id: string; status: string; client_secret: string; error?: { code: string } } }
}

describe("the fake's Stripe.js endpoints", () => {
  it('serves the script, and answers the browser with CORS headers', async () => {
    const script = await fetch(server.jsUrl)
    expect(script.headers.get('content-type')).toContain('javascript')
    expect(await script.text()).toContain('window.Stripe')
    const preflight = await fetch(`${server.url}/v1/payment_methods`, { method: 'OPTIONS' })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization')
    const made = await post('/v1/payment_methods', card('4242 4242 4242 4242'))
    expect(made.headers.get('access-control-allow-origin')).toBe('*')
    expect(await made.json()).toMatchObject({ id: expect.stringMatching(/^pm_\w+$/), card: { brand: 'visa', last4: '4242' } })
  })

  it("makes PaymentMethods that behave as the test card's number says", async () => {
    const visa = await confirm(await paymentMethod('4242424242424242'))
    expect(visa.body.status).toBe('requires_capture')
    const declined = await confirm(await paymentMethod('4000000000000002'))
    expect(declined.status).toBe(402)
    expect(declined.body.error?.code).toBe('card_declined')
    const secure = await confirm(await paymentMethod('4000000000003220'))
    expect(secure.body.status).toBe('requires_action')
    expect(server.ledger.charges).toHaveLength(1)
  })

  it('refuses an unknown number, a past expiry and a short CVC as card errors, making nothing', async () => {
    const unknown = await post('/v1/payment_methods', card('4111111111111112'))
    expect(unknown.status).toBe(402)
    expect(await unknown.json()).toMatchObject({ error: { type: 'card_error', code: 'incorrect_number' } })
    const expired = await post('/v1/payment_methods', { ...card('4242424242424242'), 'card[exp_year]': '20' })
    expect(await expired.json()).toMatchObject({ error: { code: 'invalid_expiry_year' } })
    const cvc = await post('/v1/payment_methods', { ...card('4242424242424242'), 'card[cvc]': '1' })
    expect(await cvc.json()).toMatchObject({ error: { code: 'incomplete_cvc' } })
    // A made-up PaymentMethod id is not one the fake knows.
    expect((await confirm('pm_made_up')).status).toBe(400)
  })

  it('keeps the keys apart: the publishable key moves no money, the secret key makes no card', async () => {
    const pm = await paymentMethod('4242424242424242')
    const withPublishable = await post('/v1/payment_intents', { amount: '5000', currency: 'eur', confirm: 'true', payment_method: pm })
    expect(withPublishable.status).toBe(401)
    const withSecret = await post('/v1/payment_methods', card('4242424242424242'), server.secretKey)
    expect(withSecret.status).toBe(401)
    expect(server.ledger.charges).toHaveLength(0)
  })

  it('completes 3-D Secure only with the PaymentIntent’s client secret', async () => {
    const { body: pi } = await confirm(await paymentMethod('4000000000003220'))
    const path = `/v1/test_helpers/payment_intents/${pi.id}/authenticate`
    const guessed = await post(path, { client_secret: `${pi.id}_secret_guess`, outcome: 'succeed' })
    expect(guessed.status).toBe(404)
    expect(server.paymentIntent(pi.id)?.status).toBe('requires_action')
    const done = await post(path, { client_secret: pi.client_secret, outcome: 'succeed' })
    expect(await done.json()).toMatchObject({ id: pi.id, status: 'requires_capture' })
    expect(server.ledger.charges).toHaveLength(1)
    // Once is all: a second completion finds nothing waiting.
    expect((await post(path, { client_secret: pi.client_secret, outcome: 'succeed' })).status).toBe(400)

    const { body: failing } = await confirm(await paymentMethod('4000002760003184'))
    const failed = await post(`/v1/test_helpers/payment_intents/${failing.id}/authenticate`, { client_secret: failing.client_secret, outcome: 'fail' })
    expect(await failed.json()).toMatchObject({ status: 'requires_payment_method', last_payment_error: { code: 'payment_intent_authentication_failure' } })
  })
})
