import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { failure, key, openShop, placed as orderOf, readyCart, type Shop } from '../support/index.js'

let shop: Shop
beforeEach(async () => {
  shop = await openShop()
})
afterEach(async () => {
  await shop.close()
})

describe('checkout.complete', () => {
  it('places an order with server-computed totals and reserves its stock', async () => {
    const { commerce, variantId } = shop
    const cart = await readyCart(commerce, variantId, 2)
    const order = orderOf(await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(order.status).toBe('placed')
    expect(order.paymentStatus).toBe('authorized')
    // 2 × 129.00 = 258.00; shipping 5.00; tax 8% of 258.00 = 20.64 plus 8% of 5.00 = 0.40
    expect(order.totals.subtotal).toBe(25800)
    expect(order.totals.shippingTotal).toBe(500)
    expect(order.totals.taxTotal).toBe(2064 + 40)
    expect(order.totals.total).toBe(25800 + 500 + 2104)
    expect(order.lines).toHaveLength(1)
    expect(order.lines[0]).toMatchObject({ sku: 'TR-42-BLU', quantity: 2, unitPrice: 12900, taxTotal: 2064 })
    expect(order.payments[0]).toMatchObject({ status: 'authorized', amount: order.totals.total, authorizedAmount: order.totals.total })
    const [level] = await commerce.inventory.levels(variantId)
    expect(level).toMatchObject({ onHand: 10, reserved: 2, available: 8 })
    const persisted = await commerce.db.selectFrom('cw_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow()
    expect(persisted.total).toBe(order.totals.total)
    expect((await commerce.carts.get(cart.id)).status).toBe('completed')
    expect(shop.payments.calls.filter((c) => c.operation === 'authorize').map((c) => c.amount)).toEqual([order.totals.total])
  })

  it('prices the cart again when it changes between pricing and the claim, and reserves what it then holds', async () => {
    const { commerce, variantId } = shop
    const cart = await readyCart(commerce, variantId, 1)
    let changed = false
    // The hook runs after pricing and before the claiming transaction: a change there bumps the cart's version.
    commerce.hooks.hook('checkout.beforeComplete', async () => {
      if (changed) return
      changed = true
      await commerce.carts.addItem(cart.id, { variantId, quantity: 2 })
    })
    const order = orderOf(await commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(order.lines[0]).toMatchObject({ quantity: 3, subtotal: 3 * 12900 })
    expect(order.totals.total).toBe(3 * 12900 + 500 + Math.round(3 * 12900 * 0.08) + 40)
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ reserved: 3 })
    expect(shop.payments.calls.filter((c) => c.operation === 'authorize').map((c) => c.amount)).toEqual([order.totals.total])
  })

  it('returns the placed order exactly as orders.get reads it back', async () => {
    const cart = await readyCart(shop.commerce, shop.variantId, 2)
    const order = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    // All of it but its access token, which only this response carries.
    const { accessToken: _, ...placed } = order
    expect(await shop.commerce.orders.get(order.id)).toEqual(placed)
  })

  it('places exactly one order when called 20 times in a row with the same key', async () => {
    const cart = await readyCart(shop.commerce, shop.variantId)
    const idempotencyKey = key()
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) {
      ids.add((orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }))).id)
    }
    expect(ids.size).toBe(1)
    expect(shop.payments.authorizations()).toBe(1)
    expect(await shop.commerce.db.selectFrom('cw_orders').select('id').execute()).toHaveLength(1)
  })

  it('places exactly one order when called 20 times at once with the same key', async () => {
    shop.payments.setDefault({ delayMs: 30 })
    const cart = await readyCart(shop.commerce, shop.variantId)
    const idempotencyKey = key()
    const orders = await Promise.all(
      Array.from({ length: 20 }, () => shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey })),
    )
    expect(new Set(orders.map((o) => orderOf(o).id)).size).toBe(1)
    expect(shop.payments.calls.filter((c) => c.operation === 'authorize')).toHaveLength(1)
    expect(await shop.commerce.db.selectFrom('cw_orders').select('id').execute()).toHaveLength(1)
    expect((await shop.commerce.inventory.levels(shop.variantId))[0]!.reserved).toBe(1)
  })

  it('returns the same order for a second key on a completed cart, without charging again', async () => {
    const cart = await readyCart(shop.commerce, shop.variantId)
    const first = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    const second = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(second.id).toBe(first.id)
    expect(shop.payments.authorizations()).toBe(1)
  })

  it('releases the stock and reopens the cart when the payment is declined', async () => {
    const cart = await readyCart(shop.commerce, shop.variantId, 3)
    shop.payments.script('decline')
    const idempotencyKey = key()
    await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }), 'PAYMENT_DECLINED')
    expect((await shop.commerce.inventory.levels(shop.variantId))[0]).toMatchObject({ reserved: 0, available: 10 })
    expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
    // The same key keeps its answer; a new key tries again.
    await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }), 'PAYMENT_DECLINED')
    expect(shop.payments.authorizations()).toBe(1)
    const order = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
    expect(order.status).toBe('placed')
    expect(await shop.commerce.db.selectFrom('cw_reservations').select(['status', 'quantity']).where('status', '=', 'held').execute()).toEqual([
      { status: 'held', quantity: 3 },
    ])
  })

  it('refuses to reserve more than is available and charges nobody', async () => {
    const cart = await readyCart(shop.commerce, shop.variantId, 10)
    await shop.commerce.inventory.adjust({ variantId: shop.variantId, locationId: shop.warehouse.id, delta: -1 })
    const error = await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'OUT_OF_STOCK')
    expect(error.details.shortages).toEqual([{ variantId: shop.variantId, sku: 'TR-42-BLU', requested: 10, available: 9 }])
    expect(shop.payments.calls).toHaveLength(0)
    expect((await shop.commerce.inventory.levels(shop.variantId))[0]).toMatchObject({ reserved: 0, onHand: 9 })
    expect((await shop.commerce.carts.get(cart.id)).status).toBe('open')
  })

  it('resumes a checkout whose process died after the gateway authorized, without a second charge', async () => {
    const cart = await readyCart(shop.commerce, shop.variantId)
    const idempotencyKey = key()
    // The gateway authorizes but the response is lost on the way back.
    shop.payments.script('lost')
    const error = await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }), 'PAYMENT_FAILED')
    expect(error.retryable).toBe(true)
    expect((await shop.commerce.carts.get(cart.id)).status).toBe('completing')
    const order = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }))
    expect(order.status).toBe('placed')
    expect(shop.payments.authorizations()).toBe(1)
    expect(shop.payments.calls.filter((c) => c.operation === 'authorize')).toHaveLength(2)
  })

  it('recovers checkouts whose response was lost once their lease runs out', async () => {
    let clock = Date.now()
    await shop.close()
    shop = await openShop({ now: () => new Date(clock), checkoutLeaseMs: 5_000 })
    const carts = [await readyCart(shop.commerce, shop.variantId), await readyCart(shop.commerce, shop.variantId)]
    shop.payments.script('lost', 'lost')
    for (const cart of carts) {
      await expect(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() })).rejects.toThrow(/response lost/)
    }
    // As if the process had died holding the leases: nothing is recovered until they run out.
    const leaseUntil = new Date(clock + 5_000).toISOString()
    await shop.commerce.db.updateTable('cw_payments').set({ lease_until: leaseUntil }).where('status', '=', 'pending').execute()
    expect(await shop.commerce.checkout.recover()).toEqual({ placed: 0, declined: 0, failed: 0 })
    clock += 5_001
    expect(await shop.commerce.checkout.recover()).toEqual({ placed: 2, declined: 0, failed: 0 })
    expect(await shop.commerce.db.selectFrom('cw_orders').select('cart_id').orderBy('cart_id').execute()).toEqual(
      carts.map((c) => ({ cart_id: c.id })).sort((a, b) => (a.cart_id < b.cart_id ? -1 : 1)),
    )
    expect(shop.payments.authorizations()).toBe(2)
    expect((await shop.commerce.inventory.levels(shop.variantId))[0]!.reserved).toBe(2)
    clock += 60_000
    expect(await shop.commerce.checkout.recover()).toEqual({ placed: 0, declined: 0, failed: 0 })
  })

  it('lets a failed gateway request be retried with the same key', async () => {
    const cart = await readyCart(shop.commerce, shop.variantId)
    const idempotencyKey = key()
    shop.payments.script('error')
    await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }), 'PAYMENT_FAILED')
    const order = orderOf(await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey }))
    expect(order.paymentStatus).toBe('authorized')
    expect(shop.payments.authorizations()).toBe(1)
  })

  it('refuses an incomplete cart with INVALID_STATE and changes nothing', async () => {
    const cart = await shop.commerce.carts.create({ currency: 'USD' })
    await shop.commerce.carts.addItem(cart.id, { variantId: shop.variantId, quantity: 1 })
    const error = await failure(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: key() }), 'INVALID_STATE')
    expect(error.details.problems).toEqual(expect.arrayContaining(['an email is required', 'a shipping address is required']))
    expect(await shop.commerce.db.selectFrom('cw_payments').select('id').execute()).toHaveLength(0)
  })

  it('rejects a key already used for another cart', async () => {
    const a = await readyCart(shop.commerce, shop.variantId)
    const b = await readyCart(shop.commerce, shop.variantId)
    const idempotencyKey = key()
    orderOf(await shop.commerce.checkout.complete(a.id, { payment: { provider: 'test' }, idempotencyKey }))
    await failure(shop.commerce.checkout.complete(b.id, { payment: { provider: 'test' }, idempotencyKey }), 'CONFLICT')
  })
})
