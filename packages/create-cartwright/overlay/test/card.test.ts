/**
 * Card payments through Stripe over the Store API, with the fake Stripe server from
 * `@cartwright/payment-stripe/testing` standing in for Stripe: a card is authorized for the
 * order's total, a declined card places no order. The browser's part (Stripe.js) is played by a
 * request to the fake, as Stripe.js makes it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { createStoreClient, isStoreApiError, type storeEndpoints } from '@cartwright/http/client'
import { startFakeStripe, type FakeStripeServer } from '@cartwright/payment-stripe/testing'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createApp } from '../src/app.js'
import { SHOES } from '../src/catalog.js'
import { seed } from '../src/seed.js'
import { createShop, type ShopCommerce } from '../src/shop.js'

let dir: string
let stripe: FakeStripeServer
let commerce: ShopCommerce
let server: ReturnType<typeof serve>
let baseUrl: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'store-card-'))
  stripe = await startFakeStripe()
  ;({ commerce } = await createShop({
    filename: join(dir, 'shop.db'),
    stripe: { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, publishableKey: stripe.publishableKey, jsUrl: stripe.jsUrl, client: stripe.endpoint },
  }))
  await seed(commerce, () => undefined)
  const app = createApp(commerce, { demo: true })
  server = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const address = server.address()
  baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/api/store`
})

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  await commerce?.close()
  await stripe?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** What Stripe.js does with a card: a PaymentMethod made at Stripe with the publishable key. */
async function paymentMethod(number: string): Promise<string> {
  const year = String((new Date().getUTCFullYear() + 2) % 100)
  const made = await fetch(`${stripe.url}/v1/payment_methods`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stripe.publishableKey}` },
    body: new URLSearchParams({ type: 'card', 'card[number]': number, 'card[exp_month]': '12', 'card[exp_year]': year, 'card[cvc]': '123' }),
  })
  return ((await made.json()) as { id: string }).id
}

/** A cart with one pair of shoes, an address in Germany and the first delivery option. */
async function readyCart() {
  const client = createStoreClient<typeof storeEndpoints>({ baseUrl })
  const product = await commerce.catalog.getProduct(SHOES[0]!.handle)
  // The size and colour with the most pairs in stock.
  let variant = product.variants[0]!
  let most = -1
  for (const v of product.variants) {
    const available = await commerce.inventory.available(v.id)
    if (available > most) [variant, most] = [v, available]
  }
  const cart = await client.call('POST /carts', { body: { currency: 'EUR' } })
  const shopper = client.with({ cartToken: cart.accessToken! })
  const params = { cartId: cart.id }
  await shopper.call('POST /carts/:cartId/lines', { params, body: { variantId: variant.id, quantity: 1 } })
  await shopper.call('PATCH /carts/:cartId', {
    params,
    body: { email: 'ada@example.com', shippingAddress: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Torstraße 1', city: 'Berlin', postalCode: '10119', country: 'DE' } },
  })
  const options = await shopper.call('GET /carts/:cartId/shipping-options', { params })
  const ready = await shopper.call('PUT /carts/:cartId/shipping-option', { params, body: { optionId: options[0]!.id } })
  return { shopper, params, total: ready.totals.total }
}

it('takes a card through Stripe: the order is placed and Stripe holds its total', async () => {
  const { shopper, params, total } = await readyCart()
  const pm = await paymentMethod('4242424242424242')
  const placed = await shopper.call('POST /carts/:cartId/checkout', { params, idempotencyKey: `card-${params.cartId}`, body: { payment: { provider: 'stripe', data: { paymentMethod: pm } } } })
  if (placed.status !== 'placed') throw new Error(`expected an order, got ${placed.status}`)
  expect(placed.totals.total).toBe(total)
  expect(stripe.ledger.charges.at(-1)).toMatchObject({ amount: total, currency: 'eur', captureMethod: 'manual' })
  expect((await commerce.orders.get(placed.id)).paymentStatus).toBe('authorized')
})

it('places no order for a declined card, and Stripe holds nothing', async () => {
  const { shopper, params } = await readyCart()
  const charges = stripe.ledger.charges.length
  const pm = await paymentMethod('4000000000000002')
  const declined = await shopper.call('POST /carts/:cartId/checkout', { params, idempotencyKey: `card-${params.cartId}`, body: { payment: { provider: 'stripe', data: { paymentMethod: pm } } } }).catch((error: unknown) => error)
  expect(isStoreApiError(declined, 'PAYMENT_DECLINED')).toBe(true)
  expect(stripe.ledger.charges.length).toBe(charges)
  expect((await commerce.orders.list({ limit: 100 })).items.filter((o) => o.cartId === params.cartId)).toHaveLength(0)
})
