import { randomUUID } from 'node:crypto'
import { isCommerceError } from '@cartwright/core'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openShop } from './support.js'

type Shop = Awaited<ReturnType<typeof openShop>>

describe('local courier on a running engine (SQLite file)', () => {
  let shop: Shop
  beforeEach(async () => {
    shop = await openShop()
  })
  afterEach(() => shop.close())

  it.each([
    ['1016 GV', 'courier:zone-a', 'Local courier (City centre)', 495],
    ['1102AB', 'courier:zone-b', 'Local courier (Amsterdam)', 795],
    ['2011 VB', 'courier:zone-c', 'Local courier (Noord-Holland)', 1295],
  ])('offers an address at %s the one option of its zone, %s', async (postcode, id, name, amount) => {
    const cart = await shop.cart(postcode)
    const options = await shop.commerce.carts.listShippingOptions(cart.id)
    expect(options.map((o) => ({ id: o.id, name: o.name, amount: o.amount }))).toEqual([{ id, name, amount }])
  })

  it("puts the zone's price in the order's totals and stores it", async () => {
    const cart = await shop.cart('1102 AB')
    await shop.commerce.carts.setShippingOption(cart.id, 'courier:zone-b')
    const order = await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() })
    if (order.status === 'requires_action') throw new Error('the test gateway approves at once')
    expect(order.totals.shippingTotal).toBe(795)
    expect(order.totals.total).toBe(order.totals.subtotal + 795 + order.totals.taxTotal)
    expect(order.shippingMethod?.name).toBe('Local courier (Amsterdam)')
    expect(shop.row('select shipping_total, total from cw_orders where id = ?', order.id)).toEqual({ shipping_total: 795, total: order.totals.total })
  })

  it.each([
    ['3011 AD', 'NL', 'a postcode outside every zone'],
    ['10117', 'DE', 'another country'],
  ])('gives an address at %s (%s: %s) no option, and refuses the option when it is asked for', async (postcode, country) => {
    const cart = await shop.cart(postcode, country)
    expect(await shop.commerce.carts.listShippingOptions(cart.id)).toEqual([])
    const error = await shop.commerce.carts.setShippingOption(cart.id, 'courier:zone-b').catch((e: unknown) => e)
    expect(isCommerceError(error, 'NOT_FOUND')).toBe(true)
    expect((await shop.commerce.carts.get(cart.id)).shippingMethod).toBeNull()
  })

  it('drops the chosen option when the shopper moves out of the zones, and checkout places no order', async () => {
    const cart = await shop.cart('1016 GV')
    await shop.commerce.carts.setShippingOption(cart.id, 'courier:zone-a')
    await shop.commerce.carts.update(cart.id, { shippingAddress: { firstName: 'Ada', lastName: 'Lovelace', line1: 'Coolsingel 40', city: 'Rotterdam', postalCode: '3011 AD', country: 'NL' } })
    const error = await shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: randomUUID() }).catch((e: unknown) => e)
    // The cart dropped the option when the address changed: checkout asks for one again.
    expect((await shop.commerce.carts.get(cart.id)).shippingMethod).toBeNull()
    expect(isCommerceError(error, 'INVALID_STATE')).toBe(true)
    expect(shop.count('cw_orders')).toBe(0)
  })
})
