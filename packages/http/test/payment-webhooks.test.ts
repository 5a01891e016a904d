import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { call, openShop, STORAGES, writeCounter, type Shop } from './routes-support.js'

/**
 * `POST /webhooks/:provider`: the gateway's request reaches `payments.handleWebhook` byte for byte
 * (its signature covers the raw body), a customer action confirmed at the bank places the order
 * through it, a repeat changes nothing, and a forged or misaddressed request is refused and writes
 * nothing.
 */
describe.each(STORAGES)('payment webhooks over HTTP on %s', (storage) => {
  let shop: Shop
  let writes: () => Promise<number>
  beforeAll(async () => {
    shop = await openShop(storage)
    writes = await writeCounter(shop.commerce, storage)
  })
  afterAll(() => shop?.close())

  const orders = async (cartId: string) => (await shop.commerce.db.selectFrom('cw_orders').select('id').where('cart_id', '=', cartId).execute()).length

  /** A checkout waiting for the shopper at the bank: the cart and the gateway's reference. */
  async function waitingCheckout(key: string) {
    const cart = await shop.readyCart()
    shop.gateway.script('authorize', 'action')
    const pending = await call(shop.store, 'POST', `/carts/${cart.id}/checkout`, { body: { payment: { provider: 'gateway' } }, headers: { 'x-cart-token': cart.token, 'idempotency-key': key } })
    expect(pending.body.status).toBe('requires_action')
    return { cart, reference: shop.gateway.chargeFor(pending.body.paymentId)!.reference }
  }

  it("places the order when the gateway's webhook says the shopper confirmed, and a repeat of it changes nothing", async () => {
    const { cart, reference } = await waitingCheckout('webhook-key-1')
    const request = shop.gateway.webhook(shop.gateway.confirmAction(reference))
    expect(await orders(cart.id)).toBe(0)

    const first = await call(shop.store, 'POST', '/webhooks/gateway', { raw: request.rawBody, headers: request.headers })
    expect(first.status).toBe(200)
    expect(first.body.events.map((e: { outcome: string }) => e.outcome)).toContain('applied')
    expect(await orders(cart.id)).toBe(1)

    const before = await writes()
    const again = await call(shop.store, 'POST', '/webhooks/gateway', { raw: request.rawBody, headers: request.headers })
    expect(again.status).toBe(200)
    expect(again.body.events.every((e: { outcome: string }) => e.outcome === 'duplicate')).toBe(true)
    expect(await orders(cart.id)).toBe(1)
    expect(await writes()).toBe(before)
  })

  it('refuses a body changed after signing, a missing signature and an unknown provider with 400, writing nothing', async () => {
    const { cart, reference } = await waitingCheckout('webhook-key-2')
    const request = shop.gateway.webhook(shop.gateway.confirmAction(reference))
    const before = await writes()
    const forged = request.rawBody.replace(reference, `${reference}x`)
    expect(forged).not.toBe(request.rawBody)
    const changed = await call(shop.store, 'POST', '/webhooks/gateway', { raw: forged, headers: request.headers })
    expect([changed.status, changed.body.code, changed.body.details.fields]).toEqual([400, 'VALIDATION', ['signature']])
    const unsigned = await call(shop.store, 'POST', '/webhooks/gateway', { raw: request.rawBody, headers: { 'content-type': 'application/json' } })
    expect([unsigned.status, unsigned.body.code]).toEqual([400, 'VALIDATION'])
    const elsewhere = await call(shop.store, 'POST', '/webhooks/nobody', { raw: request.rawBody, headers: request.headers })
    expect([elsewhere.status, elsewhere.body.code]).toEqual([400, 'VALIDATION'])
    expect(await writes()).toBe(before)
    expect(await orders(cart.id)).toBe(0)
    // The genuine request still works afterwards.
    expect((await call(shop.store, 'POST', '/webhooks/gateway', { raw: request.rawBody, headers: request.headers })).status).toBe(200)
    expect(await orders(cart.id)).toBe(1)
  })

  it('refuses a webhook body over its limit with 413 before reading it into the engine', async () => {
    const before = await writes()
    const huge = await call(shop.store, 'POST', '/webhooks/gateway', { raw: `{"pad":"${'x'.repeat(2 * 1024 * 1024)}"}`, headers: { 'content-type': 'application/json' } })
    expect(huge.status).toBe(413)
    expect(await writes()).toBe(before)
  })
})
