/**
 * A shop that takes cards through Stripe and is not a demo: the test gateway, which takes no
 * money, is not there to be named (by the pages or the Store API), a card form sent without
 * Stripe.js's PaymentMethod runs no checkout, a cart its gift cards pay is placed without a card,
 * and no page may be cached. The fake Stripe server stands in for Stripe.
 */
import { startFakeStripe, type FakeStripeServer } from '@cartwright/payment-stripe/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { createShop, type ShopCommerce } from '../src/shop.js'
import { seed } from '../src/seed.js'
import { browserless, h1, inputValue } from './support.js'

let stripe: FakeStripeServer
let commerce: ShopCommerce
let app: ReturnType<typeof createApp>

beforeAll(async () => {
  stripe = await startFakeStripe()
  commerce = (
    await createShop({
      filename: ':memory:',
      testPayments: false,
      stripe: { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, publishableKey: stripe.publishableKey, jsUrl: stripe.jsUrl, client: stripe.endpoint },
    })
  ).commerce
  await seed(commerce, () => undefined)
  app = createApp(commerce, { demo: false })
})
afterAll(async () => {
  await commerce?.close()
  await stripe?.close()
})

const count = async (table: 'cw_orders' | 'cw_payments') => Number((await commerce.db.selectFrom(table).select((e) => e.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n)

/** A cheap pair (the cheapest variant with stock) in the cart, an address, and the shipping and payment step. */
async function toPayment(shopper: ReturnType<typeof browserless>) {
  const product = await commerce.catalog.getProduct('trail-runner')
  let variant = product.variants[0]!
  for (const v of product.variants) if ((await commerce.inventory.available(v.id)) > (await commerce.inventory.available(variant.id))) variant = v
  expect((await shopper.post('/cart/lines', { variantId: variant.id, quantity: '1', handle: 'trail-runner' })).status).toBe(303)
  const address = await shopper.post('/checkout', { email: 'grace@example.com', firstName: 'Grace', lastName: 'Hopper', line1: 'Torstraße 12', city: 'Berlin', postalCode: '10119', country: 'DE' })
  expect(address.headers.get('location')).toBe('/checkout/shipping')
  const step = await (await shopper.get('/checkout/shipping')).text()
  return { step, shipping: /name="shipping" value="([^"]+)"/.exec(step)![1]!, attempt: inputValue(step, 'attempt') }
}

describe('a shop that takes cards through Stripe, not a demo', () => {
  it('refuses to start with no way to take payment', async () => {
    await expect(createShop({ filename: ':memory:', stripe: null, testPayments: false })).rejects.toThrow(/no way to take payment/)
  })

  it('has no test gateway: naming it through the Store API places no order, and its pretend bank is not there', async () => {
    const orders = await count('cw_orders')
    const api = (path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) =>
      app.request(`/api/store${path}`, { method: init.method ?? 'GET', headers: { 'content-type': 'application/json', ...init.headers }, ...(init.body ? { body: JSON.stringify(init.body) } : {}) })
    const cart = (await (await api('/carts', { method: 'POST', body: { currency: 'EUR' } })).json()) as { id: string; accessToken: string }
    const auth = { 'x-cart-token': cart.accessToken }
    const product = await commerce.catalog.getProduct('trail-runner')
    await api(`/carts/${cart.id}/lines`, { method: 'POST', headers: auth, body: { variantId: product.variants[0]!.id, quantity: 1 } })
    await api(`/carts/${cart.id}`, { method: 'PATCH', headers: auth, body: { email: 'mallory@example.com', shippingAddress: { firstName: 'M', lastName: 'M', line1: 'Torstraße 1', city: 'Berlin', postalCode: '10119', country: 'DE' } } })
    const [option] = (await (await api(`/carts/${cart.id}/shipping-options`, { headers: auth })).json()) as Array<{ id: string }>
    await api(`/carts/${cart.id}/shipping-option`, { method: 'PUT', headers: auth, body: { optionId: option!.id } })
    for (const outcome of ['approve', 'requires_action']) {
      const free = await api(`/carts/${cart.id}/checkout`, { method: 'POST', headers: { ...auth, 'idempotency-key': `free-${outcome}` }, body: { payment: { provider: 'test', data: { outcome } } } })
      expect(free.status).toBe(400)
      expect(await free.json()).toMatchObject({ code: 'VALIDATION' })
    }
    expect(await count('cw_orders')).toBe(orders)
    const shopper = browserless(app)
    await toPayment(shopper)
    const bank = await shopper.get('/checkout/confirm-payment?ref=tp_3ds_1_pay_x')
    expect([bank.status, bank.headers.get('location')]).toEqual([303, '/checkout/shipping'])
  })

  it('offers only the card, and a card form sent without a PaymentMethod (JavaScript off) runs no checkout', async () => {
    const shopper = browserless(app)
    const { step, shipping, attempt } = await toPayment(shopper)
    expect(step).toContain('id="card-element"')
    expect(step).not.toMatch(/value="approve"|value="decline"|value="requires_action"/)
    const [payments, orders] = [await count('cw_payments'), await count('cw_orders')]
    const sent = await shopper.post('/checkout/place', { shipping, outcome: 'card', paymentMethod: '', attempt })
    expect(sent.status).toBe(400)
    expect(await sent.text()).toContain('Paying by card needs JavaScript')
    // The test gateway's outcomes are refused by the page too.
    expect((await shopper.post('/checkout/place', { shipping, outcome: 'approve', attempt })).status).toBe(400)
    expect([await count('cw_payments'), await count('cw_orders')]).toEqual([payments, orders])
  })

  it('places a cart its gift card pays in full without a card, and asks Stripe for nothing', async () => {
    const shopper = browserless(app)
    await toPayment(shopper)
    // A card larger than any pair of shoes.
    const { code } = await commerce['gift-cards'].issue({ currency: 'EUR', amount: 100_000, idempotencyKey: 'card-shop-test-large-gift-card' })
    expect((await shopper.post('/cart/code', { code: code!, back: '/checkout/shipping' })).status).toBe(303)
    const step = await (await shopper.get('/checkout/shipping')).text()
    expect(step).not.toContain('id="card-element"')
    expect(step).toContain('value="nothing-due"')
    const calls = stripe.ledger.calls.length
    const placed = await shopper.post('/checkout/place', { shipping: /name="shipping" value="([^"]+)"/.exec(step)![1]!, outcome: 'nothing-due', attempt: inputValue(step, 'attempt') })
    expect(placed.status).toBe(303)
    expect(h1(await (await shopper.get(placed.headers.get('location')!)).text())).toBe('Thank you for your order')
    expect(stripe.ledger.calls.length).toBe(calls)
  })

  it('lets no page be cached: they hold the shopper’s cart, account and payments', async () => {
    const shopper = browserless(app)
    for (const path of ['/', '/cart', '/products/trail-runner', '/account/login']) {
      expect((await shopper.get(path)).headers.get('cache-control'), path).toBe('no-store')
    }
    expect((await shopper.get('/style.css')).headers.get('cache-control')).toContain('max-age')
  })
})
