import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { address, call, openShop, SHIPPING, STORAGES, type Shop } from './routes-support.js'

describe.each(STORAGES)('Store API routes on %s', (storage) => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop(storage)
  })
  afterAll(() => shop?.close())

  it('lists and searches active products with facets, and hides a draft product', async () => {
    const listed = await call(shop.store, 'GET', '/products?query=trail&facets=true&currency=USD')
    expect(listed.status).toBe(200)
    expect(listed.body.items.map((h: any) => h.product.handle)).toEqual(['trail-runner'])
    expect(listed.body.facets.price.length).toBeGreaterThan(0)

    const cheap = await call(shop.store, 'GET', '/products?tags=running&currency=USD&maxPrice=2000&sort=price_asc')
    expect(cheap.body.items.map((h: any) => h.product.handle)).toEqual(['wool-sock'])

    const searched = await call(shop.store, 'POST', '/products/search', { body: { tags: ['running'], currency: 'USD', sort: 'price_desc', limit: 1 } })
    expect(searched.status).toBe(200)
    expect(searched.body.items.map((h: any) => h.product.handle)).toEqual(['trail-runner'])
    expect(searched.body.total).toBe(2)

    expect((await call(shop.store, 'GET', '/products/trail-runner')).body.id).toBe(shop.shoe.id)
    const hidden = await call(shop.store, 'GET', '/products/next-season-shoe')
    expect(hidden.status).toBe(404)
    expect(hidden.body.code).toBe('NOT_FOUND')
    expect((await call(shop.store, 'GET', '/products?limit=0')).status).toBe(400)
  })

  it('lists categories and collections, with their visible products only', async () => {
    const shoes = await shop.commerce.categories.create({ title: 'Shoes', handle: 'shoes' })
    await shop.commerce.categories.addProducts(shoes.id, [shop.shoe.id, shop.secret.id])
    const tree = await call(shop.store, 'GET', '/categories')
    expect(tree.body.map((c: any) => c.handle)).toContain('shoes')
    const products = await call(shop.store, 'GET', '/categories/shoes/products')
    expect(products.status).toBe(200)
    expect(products.body.items.map((p: any) => p.id)).toEqual([shop.shoe.id])
    const picks = await shop.commerce.collections.create({ title: 'Picks', handle: 'picks' })
    await shop.commerce.collections.addProducts(picks.id, [shop.sock.id, shop.secret.id])
    expect((await call(shop.store, 'GET', '/collections/picks')).body.kind).toBe('manual')
    expect((await call(shop.store, 'GET', '/collections/picks/products')).body.items.map((p: any) => p.id)).toEqual([shop.sock.id])
  })

  it('buys over HTTP: cart, line, address, shipping, checkout with a key (a retry answers the same order), the order by its token', async () => {
    const created = await call(shop.store, 'POST', '/carts', { body: { currency: 'USD' } })
    expect(created.status).toBe(200)
    expect(created.body.accessToken).toEqual(expect.any(String))
    expect(created.headers.get('set-cookie')).toMatch(/HttpOnly/)
    const cartId: string = created.body.id
    const auth = { 'x-cart-token': created.body.accessToken as string }

    const added = await call(shop.store, 'POST', `/carts/${cartId}/lines`, { body: { variantId: shop.sock.variants[0]!.id, quantity: 2 }, headers: auth })
    expect(added.body.totals.subtotal).toBe(3000)
    const lineId: string = added.body.lines[0].id
    expect((await call(shop.store, 'PATCH', `/carts/${cartId}/lines/${lineId}`, { body: { quantity: 3 }, headers: auth })).body.lines[0].quantity).toBe(3)
    await call(shop.store, 'POST', `/carts/${cartId}/lines`, { body: { variantId: shop.shoe.variants[0]!.id, quantity: 1 }, headers: auth })
    expect((await call(shop.store, 'DELETE', `/carts/${cartId}/lines/${lineId}`, { headers: auth })).body.lines).toHaveLength(1)

    // Before an address only pickup is offered; after it, shipping too.
    const before = await call(shop.store, 'GET', `/carts/${cartId}/shipping-options`, { headers: auth })
    expect(before.body.map((o: any) => o.id)).toEqual(['pickup:warehouse'])
    expect(before.body[0].pickupLocationId).toBe(shop.location.id)
    const addressed = await call(shop.store, 'PATCH', `/carts/${cartId}`, { body: { email: 'ada@example.com', shippingAddress: address }, headers: auth })
    expect(addressed.body.shippingAddress.country).toBe('GB')
    const options = await call(shop.store, 'GET', `/carts/${cartId}/shipping-options`, { headers: auth })
    expect(options.body.map((o: any) => o.id).sort()).toEqual(['flat:standard', 'pickup:warehouse'])
    const shipped = await call(shop.store, 'PUT', `/carts/${cartId}/shipping-option`, { body: { optionId: 'flat:standard' }, headers: auth })
    expect(shipped.body.totals.total).toBe(12900 + SHIPPING)

    const checkout = { body: { payment: { provider: 'gateway' } }, headers: { ...auth, 'idempotency-key': 'purchase-key-1' } }
    const placed = await call(shop.store, 'POST', `/carts/${cartId}/checkout`, checkout)
    expect(placed.status).toBe(200)
    expect(placed.body.status).toBe('placed')
    expect(placed.body.totals.total).toBe(12900 + SHIPPING)
    const orderToken: string = placed.body.accessToken
    expect(orderToken).toEqual(expect.any(String))

    const again = await call(shop.store, 'POST', `/carts/${cartId}/checkout`, checkout)
    expect(again.status).toBe(200)
    expect(again.body.id).toBe(placed.body.id)
    const orders = await sql<{ n: number | string }>`select count(*) as n from cw_orders where cart_id = ${cartId}`.execute(shop.commerce.db)
    expect(Number(orders.rows[0]!.n)).toBe(1)
    expect(shop.gateway.charges().filter((c) => c.paymentId === placed.body.payments[0].id)).toHaveLength(1)

    const viewed = await call(shop.store, 'GET', `/orders/${placed.body.id}`, { headers: { 'x-order-token': orderToken } })
    expect(viewed.status).toBe(200)
    expect(viewed.body.number).toBe(placed.body.number)
    expect(viewed.body.accessToken).toBeUndefined()
    expect((await call(shop.store, 'GET', `/orders/${placed.body.id}?token=${encodeURIComponent(orderToken)}`)).status).toBe(200)
    // The cart's token opens its order too (the shopper whose checkout answer was lost).
    expect((await call(shop.store, 'GET', `/orders/${placed.body.id}`, { headers: { 'x-order-token': auth['x-cart-token'] } })).status).toBe(200)
    // The cart is closed now.
    const late = await call(shop.store, 'POST', `/carts/${cartId}/lines`, { body: { variantId: shop.sock.variants[0]!.id, quantity: 1 }, headers: auth })
    expect(late.status).toBe(409)
  })

  it('checkout needs an Idempotency-Key header, and takes none in the body', async () => {
    const cart = await shop.readyCart()
    const auth = { 'x-cart-token': cart.token }
    const missing = await call(shop.store, 'POST', `/carts/${cart.id}/checkout`, { body: { payment: { provider: 'gateway' } }, headers: auth })
    expect(missing.status).toBe(400)
    const inBody = await call(shop.store, 'POST', `/carts/${cart.id}/checkout`, { body: { payment: { provider: 'gateway' }, idempotencyKey: 'in-the-body-1' }, headers: auth })
    expect(inBody.status).toBe(400)
    expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
  })

  it('answers the customer action, then the order once the shopper confirmed at the bank', async () => {
    const cart = await shop.readyCart()
    const auth = { 'x-cart-token': cart.token }
    shop.gateway.script('authorize', 'action')
    const pending = await call(shop.store, 'POST', `/carts/${cart.id}/checkout`, { body: { payment: { provider: 'gateway' } }, headers: { ...auth, 'idempotency-key': 'action-key-1' } })
    expect(pending.status).toBe(200)
    expect(pending.body.status).toBe('requires_action')
    expect(pending.body.action.type).toBe('redirect')

    const waiting = await call(shop.store, 'POST', `/carts/${cart.id}/checkout/confirm`, { headers: auth })
    expect(waiting.body.status).toBe('requires_action')
    expect(waiting.body.paymentId).toBe(pending.body.paymentId)

    shop.gateway.confirmAction(shop.gateway.chargeFor(pending.body.paymentId)!.reference)
    const confirmed = await call(shop.store, 'POST', `/carts/${cart.id}/checkout/confirm`, { headers: auth })
    expect(confirmed.status).toBe(200)
    expect(confirmed.body.status).toBe('placed')
    expect(confirmed.body.cartId).toBe(cart.id)
  })

  it('lets the buyer cancel an order nothing was captured of, and not one whose payment was taken', async () => {
    const order = await shop.placeOrder()
    const auth = { 'x-order-token': order.token }
    const canceled = await call(shop.store, 'POST', `/orders/${order.id}/cancel`, { body: { reason: 'changed my mind' }, headers: { ...auth, 'idempotency-key': 'cancel-key-1' } })
    expect(canceled.status).toBe(200)
    expect(canceled.body.status).toBe('canceled')
    expect(canceled.body.paymentStatus).toBe('voided')
    const replay = await call(shop.store, 'POST', `/orders/${order.id}/cancel`, { headers: { ...auth, 'idempotency-key': 'cancel-key-1' } })
    expect(replay.status).toBe(200)
    expect(replay.body.status).toBe('canceled')

    const captured = await shop.placeOrder()
    await shop.commerce.orders.capturePayment(captured.id, { idempotencyKey: 'capture-for-cancel' })
    const refused = await call(shop.store, 'POST', `/orders/${captured.id}/cancel`, { headers: { 'x-order-token': captured.token, 'idempotency-key': 'cancel-key-2' } })
    expect(refused.status).toBe(409)
    expect(refused.body.code).toBe('INVALID_STATE')
    expect((await shop.commerce.orders.get(captured.id)).status).toBe('placed')
  })

  it("gives a signed-in shopper's new cart to them, and opens it with their session", async () => {
    const session = await shop.signIn('grace@example.com')
    const bearer = { authorization: `Bearer ${session}` }
    const created = await call(shop.store, 'POST', '/carts', { body: { currency: 'USD' }, headers: bearer })
    expect(created.body.customerId).toEqual(expect.any(String))
    const read = await call(shop.store, 'GET', `/carts/${created.body.id}`, { headers: bearer })
    expect(read.status).toBe(200)
  })
})
