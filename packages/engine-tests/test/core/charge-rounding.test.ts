import { afterEach, describe, expect, it } from 'vitest'
import { fixedRateTax, flatRateShipping, type Order } from '@cartwright/core'
import { testGateway, type TestGateway } from '@cartwright/testkit'
import { address, GUARDED_STORAGES, key, openShop, placed, shownTotals, type Shop } from '../support/index.js'

/**
 * The charge step: a provider that charges KWD in steps of 10 minor units (as Stripe does) is
 * asked for a multiple of 10, and the order carries the difference as a visible rounding
 * adjustment, so that its total is exactly what the gateway charged. No tax here, and a shipping
 * amount per test, so that a cart's total is what the test names.
 */

interface RoundingShop extends Shop {
  gateway: TestGateway
  /** Checks out one unit of a product priced 1.000 KWD / 10.00 USD with `shipping` minor units of shipping. */
  checkout(currency: 'KWD' | 'USD'): Promise<Order>
  stored(orderId: string): Promise<{ order: { total: number; rounding_total: number }; payments: Array<{ amount: number; kind: string }> }>
}

describe.each(GUARDED_STORAGES)('charge rounding to the provider charge step, on %s', (storage) => {
  const open: Shop[] = []
  afterEach(async () => {
    for (const shop of open.splice(0)) await shop.close()
  })

  async function shop(shipping: { KWD: number; USD: number }): Promise<RoundingShop> {
    const gateway = testGateway({ id: 'gateway' })
    Object.assign(gateway, { chargeStep: (currency: string) => (currency === 'KWD' ? 10 : 1) })
    const s = await openShop({
      storage,
      payments: [gateway],
      tax: fixedRateTax({ rate: '0' }),
      shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: shipping }] })],
    })
    open.push(s)
    const product = await s.commerce.catalog.createProduct({
      title: 'Dates',
      variants: [{ sku: 'DATES', prices: [{ currency: 'KWD', amount: 1000 }, { currency: 'USD', amount: 1000 }] }],
    })
    const variantId = product.variants[0]!.id
    await s.commerce.inventory.setStock({ variantId, locationId: s.warehouse.id, onHand: 10 })
    const db = s.commerce.db
    return Object.assign(s, {
      gateway,
      async checkout(currency: 'KWD' | 'USD') {
        const cart = await s.commerce.carts.create({ currency })
        await s.commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
        await s.commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
        const ready = await s.commerce.carts.setShippingOption(cart.id, 'flat:standard')
        // A cart never carries a rounding: only the order does.
        expect(ready.totals.rounding).toBe(0)
        return placed(await s.commerce.checkout.complete(cart.id, { payment: { provider: 'gateway' }, idempotencyKey: key() }))
      },
      async stored(orderId: string) {
        const order = await db.selectFrom('cw_orders').select(['total', 'rounding_total']).where('id', '=', orderId).executeTakeFirstOrThrow()
        const payments = await db.selectFrom('cw_payments').select(['amount', 'kind']).where('order_id', '=', orderId).execute()
        return {
          order: { total: Number(order.total), rounding_total: Number(order.rounding_total) },
          payments: payments.map((p) => ({ amount: Number(p.amount), kind: p.kind })),
        }
      },
    })
  }

  it('rounds a KWD order of 1.234 to 1.230: rounding -4 on the order, the gateway asked for 1230, the total equal to the charge', async () => {
    const s = await shop({ KWD: 234, USD: 500 })
    const order = await s.checkout('KWD')
    expect(shownTotals(order.totals)).toEqual({ subtotal: 1000, discountTotal: 0, shippingTotal: 234, taxTotal: 0, rounding: -4, total: 1230 })
    expect(order.payments.map((p) => p.amount)).toEqual([1230])
    expect(order.totals.total).toBe(order.payments[0]!.amount)
    // The gateway was asked for 1230, and charged it.
    const authorizations = s.gateway.calls.filter((c) => c.operation === 'authorize')
    expect(authorizations.map((c) => c.amount)).toEqual([1230])
    const charge = s.gateway.chargeFor(order.payments[0]!.id)!
    expect(charge).toMatchObject({ currency: 'KWD', authorized: 1230 })
    // Stored: the column total keeps the sum of the parts, the rounding beside it; read back the same.
    expect(await s.stored(order.id)).toEqual({ order: { total: 1234, rounding_total: -4 }, payments: [{ amount: 1230, kind: 'gateway' }] })
    expect((await s.commerce.orders.get(order.id)).totals).toEqual(order.totals)
  })

  it('rounds half up: a KWD order of 1.235 is charged 1.240 with rounding +5', async () => {
    const s = await shop({ KWD: 235, USD: 500 })
    const order = await s.checkout('KWD')
    expect(order.totals).toMatchObject({ rounding: 5, total: 1240 })
    expect(s.gateway.calls.filter((c) => c.operation === 'authorize').map((c) => c.amount)).toEqual([1240])
    expect(order.payments[0]!.amount).toBe(1240)
  })

  it('leaves a step-aligned KWD order and a USD order unchanged (rounding 0)', async () => {
    const s = await shop({ KWD: 230, USD: 234 })
    const kwd = await s.checkout('KWD')
    expect(shownTotals(kwd.totals)).toEqual({ subtotal: 1000, discountTotal: 0, shippingTotal: 230, taxTotal: 0, rounding: 0, total: 1230 })
    const usd = await s.checkout('USD')
    expect(shownTotals(usd.totals)).toEqual({ subtotal: 1000, discountTotal: 0, shippingTotal: 234, taxTotal: 0, rounding: 0, total: 1234 })
    expect(s.gateway.calls.filter((c) => c.operation === 'authorize').map((c) => c.amount)).toEqual([1230, 1234])
    expect(await s.stored(usd.id)).toEqual({ order: { total: 1234, rounding_total: 0 }, payments: [{ amount: 1234, kind: 'gateway' }] })
  })

  it('reads rounding 0 for an order stored without one (placed before the column existed)', async () => {
    const s = await shop({ KWD: 234, USD: 500 })
    const order = await s.checkout('USD')
    // An order row written without the column, as every row migration 0008 found: it takes the default.
    const { rounding_total: _rounding, ...row } = await s.commerce.db.selectFrom('cw_orders').selectAll().where('id', '=', order.id).executeTakeFirstOrThrow()
    const cart = await s.commerce.carts.create({ currency: 'USD' })
    await s.commerce.db.insertInto('cw_orders').values({ ...row, id: 'order_old', number: row.number + 1000, cart_id: cart.id }).execute()
    const old = await s.commerce.orders.get('order_old')
    expect(shownTotals(old.totals)).toEqual({ subtotal: 1000, discountTotal: 0, shippingTotal: 500, taxTotal: 0, rounding: 0, total: 1500 })
  })
})
