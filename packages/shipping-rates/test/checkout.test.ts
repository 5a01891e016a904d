import { afterEach, describe, expect, it } from 'vitest'
import { createCommerce, definePlugin, testPayments } from '@cartwright/core'
import { sqliteStorage } from '@cartwright/storage-sqlite'
import { shippingRates } from '../src/index.js'
import { addresses, openShop, rejection, STORAGES, type Shop } from './support.js'

/** A discount of 15.00 on the carts it is told about, through core's discount hook. */
function fifteenOff(cartIds: Set<string>) {
  return definePlugin({
    id: 'fifteen-off',
    init(ctx) {
      ctx.hooks.hook('cart.adjust', ({ cart, adjustments }) => {
        if (cartIds.has(cart.id)) adjustments.push({ code: 'FIFTEEN', label: '15.00 off', amount: 1500 })
      })
    },
  })
}

describe.each(STORAGES)('shipping rates at checkout on %s', (storage) => {
  let shop: Shop
  afterEach(() => shop?.close())

  it('free shipping from 50.00 compares the subtotal after discounts: 60.00 ships free, 60.00 less 15.00 pays the weight tier', async () => {
    const discounted = new Set<string>()
    shop = await openShop(storage, { extra: [fifteenOff(discounted)] })
    // 5 mugs: 60.00 and 2 kg, the 1–5 kg tier (6.90) unless free.
    const full = await shop.cart([[shop.mug, 5]])
    const less = await shop.cart([[shop.mug, 5]])
    discounted.add(less.id)

    const options = async (cartId: string) => Object.fromEntries((await shop.commerce.carts.listShippingOptions(cartId)).map((o) => [o.id, o.amount]))
    expect(await options(full.id)).toMatchObject({ 'rates:standard': 0 })
    expect(await options(less.id)).toMatchObject({ 'rates:standard': 690 })

    const freeOrder = await shop.checkout(full.id, 'rates:standard')
    const paidOrder = await shop.checkout(less.id, 'rates:standard')
    expect([freeOrder.shippingMethod?.amount, freeOrder.totals.discountTotal]).toEqual([0, 0])
    expect([paidOrder.shippingMethod?.amount, paidOrder.totals.discountTotal]).toEqual([690, 1500])
    const stored = await shop.commerce.orders.get(paidOrder.id)
    expect(stored.shippingMethod?.amount).toBe(690)
  })

  it('an address a method excludes, or a cart too heavy for it, is not offered it; checkout of a cart whose method is no longer offered is refused and places nothing', async () => {
    shop = await openShop(storage)
    const cart = await shop.cart([[shop.mug, 1]])
    const ids = async () => (await shop.commerce.carts.listShippingOptions(cart.id)).map((o) => o.id).sort()
    expect(await ids()).toEqual(['rates:express', 'rates:standard', 'rates:store'])
    await shop.commerce.carts.setShippingOption(cart.id, 'rates:express')

    // Helgoland: express excludes its postal prefix.
    await shop.commerce.carts.update(cart.id, { shippingAddress: addresses.helgoland })
    expect(await ids()).toEqual(['rates:standard', 'rates:store'])
    const refused = await rejection(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: 'helgoland-express-1' }))
    expect(refused.code).toBe('INVALID_STATE')
    expect(refused.message).toMatch(/shipping option \(or the chosen one is no longer offered\)/)

    // Back to Berlin with 3 kettles (6.6 kg): over express's 2 kg and every standard tier: no delivery at all.
    await shop.commerce.carts.update(cart.id, { shippingAddress: addresses.berlin })
    await shop.commerce.carts.setShippingOption(cart.id, 'rates:standard')
    await shop.commerce.carts.addItem(cart.id, { variantId: shop.kettle.variants[0]!.id, quantity: 3 })
    expect(await ids()).toEqual(['rates:store'])
    const tooHeavy = await rejection(shop.commerce.checkout.complete(cart.id, { payment: { provider: 'test' }, idempotencyKey: 'too-heavy-1' }))
    expect(tooHeavy.code).toBe('INVALID_STATE')
    expect(tooHeavy.message).toMatch(/no longer offered/)

    const placed = await shop.commerce.orders.list({})
    expect(placed.items).toEqual([])
    expect(await shop.commerce.inventory.reservations({ cartId: cart.id })).toEqual([])
  })

  it('click and collect: a cart with no address can choose the pickup, and checkout reserves every line at that store only', async () => {
    shop = await openShop(storage)
    const cart = await shop.cart(
      [
        [shop.mug, 2],
        [shop.kettle, 1],
      ],
      null,
    )
    expect((await shop.commerce.carts.listShippingOptions(cart.id)).map((o) => [o.id, o.amount])).toEqual([['rates:store', 0]])
    const levels = async () =>
      Object.fromEntries(
        await Promise.all(
          [shop.mug, shop.kettle].map(async (p) => [p.variants[0]!.sku, (await shop.commerce.inventory.levels(p.variants[0]!.id)).map((l) => [l.locationId === shop.store.id ? 'store' : 'warehouse', l.reserved])]),
        ),
      )
    expect(await levels()).toEqual({ 'MUG-1': expect.arrayContaining([['store', 0], ['warehouse', 0]]), 'KETTLE-1': expect.arrayContaining([['store', 0], ['warehouse', 0]]) })

    const order = await shop.checkout(cart.id, 'rates:store')
    expect(order.shippingAddress).toBeNull()
    const reservations = await shop.commerce.inventory.reservations({ orderId: order.id })
    expect(reservations.map((r) => [r.locationId, r.quantity]).sort()).toEqual(
      [
        [shop.store.id, 2],
        [shop.store.id, 1],
      ].sort(),
    )
    const after = await levels()
    expect(new Map(after['MUG-1'] as Array<[string, number]>)).toEqual(new Map([['store', 2], ['warehouse', 0]]))
    expect(new Map(after['KETTLE-1'] as Array<[string, number]>)).toEqual(new Map([['store', 1], ['warehouse', 0]]))
  })
})

describe('shippingRates({ rates })', () => {
  it('contributes the rate tables as the shipping provider "rates"', async () => {
    const commerce = await createCommerce({
      storage: sqliteStorage({ filename: ':memory:' }),
      payments: [testPayments()],
      plugins: [shippingRates({ rates: { zones: [{ id: 'de', name: 'Germany', countries: ['DE'], methods: [{ id: 'standard', name: 'Standard', rates: { EUR: { type: 'flat', amount: 490 } }, minDays: 1, maxDays: 2 }] }] } })],
    })
    try {
      const product = await commerce.catalog.createProduct({ title: 'Mug', variants: [{ sku: 'MUG', prices: [{ currency: 'EUR', amount: 1200 }] }] })
      const location = await commerce.inventory.createLocation({ name: 'Main', code: 'main' })
      await commerce.inventory.setStock({ variantId: product.variants[0]!.id, locationId: location.id, onHand: 5 })
      const cart = await commerce.carts.create({ currency: 'EUR' })
      await commerce.carts.addItem(cart.id, { variantId: product.variants[0]!.id, quantity: 1 })
      await commerce.carts.update(cart.id, { shippingAddress: addresses.berlin })
      expect(await commerce.carts.listShippingOptions(cart.id)).toMatchObject([{ id: 'rates:standard', name: 'Standard', amount: 490, estimate: '1–2 business days' }])
    } finally {
      await commerce.close()
    }
  })
})
