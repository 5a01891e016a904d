import { afterEach, describe, expect, it } from 'vitest'
import { fixedRateTax, type Cart, type Commerce, type TestPoints } from '@cartwright/core'
import { address, checkout, failure, gate, key, openShop, readyCart, shownTotals, type Shop, type ShopOptions, type StorageKind } from './index.js'

/**
 * A refused cart change leaves the cart as it was, and a stored cart is always readable. Run on a
 * SQLite file (test/core/cart-integrity.test.ts) and on PostgreSQL
 * (test/postgres/cart-integrity.test.ts).
 */

/** 2^52 minor units: two of them are one more than the largest exact amount, 2^53 − 1. */
const HALF = 2 ** 52
const MAX = Number.MAX_SAFE_INTEGER

/** Everything stored about a cart: its row (version, fields), its lines, and the outbox. */
async function stored(commerce: Commerce, cartId: string) {
  const row = await commerce.db.selectFrom('cw_carts').selectAll().where('id', '=', cartId).executeTakeFirstOrThrow()
  const lines = await commerce.db.selectFrom('cw_cart_lines').selectAll().where('cart_id', '=', cartId).orderBy('id').execute()
  const events = await commerce.db.selectFrom('cw_outbox').select(['id', 'type']).orderBy('id').execute()
  return { row, lines, events }
}

/** A product of one variant at `amount` USD, with stock at the shop's warehouse. */
async function pricedVariant(shop: Shop, sku: string, amount: number): Promise<string> {
  const product = await shop.commerce.catalog.createProduct({
    title: `Product ${sku}`,
    options: [{ name: 'Size', values: ['One'] }],
    variants: [{ sku, options: { Size: 'One' }, prices: [{ currency: 'USD', amount }] }],
  })
  const variantId = product.variants[0]!.id
  await shop.commerce.inventory.setStock({ variantId, locationId: shop.warehouse.id, onHand: 1_000 })
  return variantId
}

/**
 * Expects `change` to be refused with `code` and the cart to be stored exactly as before it, still
 * readable and the same as read before.
 */
async function expectRefusedUnchanged(shop: Shop, cartId: string, change: () => Promise<unknown>, code: 'VALIDATION' | 'INVALID_STATE' = 'VALIDATION') {
  const { commerce } = shop
  const before = await stored(commerce, cartId)
  const readBefore = await commerce.carts.get(cartId)
  const error = await failure(change(), code)
  expect(await stored(commerce, cartId)).toEqual(before)
  expect(await commerce.carts.get(cartId)).toEqual(readBefore)
  return error
}

export function cartIntegrityCases(storage: StorageKind): void {
  const opened: Shop[] = []
  afterEach(async () => {
    for (const shop of opened.splice(0)) await shop.close()
  })
  const open = async (options: ShopOptions = {}) => {
    const shop = await openShop({ ...options, storage })
    opened.push(shop)
    return shop
  }

  describe('a cart change whose amounts would pass 2^53 − 1 minor units', () => {
    it('refuses a second line of 2^52 and leaves the cart as it was, readable, with its one line', async () => {
      const shop = await open()
      const [first, second] = [await pricedVariant(shop, 'HALF-1', HALF), await pricedVariant(shop, 'HALF-2', HALF)]
      const cart = await shop.commerce.carts.create({ currency: 'USD' })
      const one = await shop.commerce.carts.addItem(cart.id, { variantId: first, quantity: 1 })
      expect(one.totals.subtotal).toBe(HALF)
      const error = await expectRefusedUnchanged(shop, cart.id, () => shop.commerce.carts.addItem(cart.id, { variantId: second, quantity: 1 }))
      expect(error.message).toMatch(/2\^53/)
      const after = await shop.commerce.carts.get(cart.id)
      expect(after.lines.map((l) => [l.variantId, l.quantity])).toEqual([[first, 1]])
      expect(after.pricingProblem).toBeNull()
      // The cart still takes changes that fit.
      const emptied = await shop.commerce.carts.removeItem(cart.id, after.lines[0]!.id)
      expect(emptied.lines).toEqual([])
    })

    it('refuses raising a line past the limit, by addItem or updateItem, and keeps its quantity', async () => {
      const shop = await open()
      const variantId = await pricedVariant(shop, 'HALF', HALF)
      const cart = await shop.commerce.carts.addItem((await shop.commerce.carts.create({ currency: 'USD' })).id, { variantId, quantity: 1 })
      await expectRefusedUnchanged(shop, cart.id, () => shop.commerce.carts.addItem(cart.id, { variantId, quantity: 1 }))
      await expectRefusedUnchanged(shop, cart.id, () => shop.commerce.carts.updateItem(cart.id, cart.lines[0]!.id, { quantity: 2 }))
      expect((await shop.commerce.carts.get(cart.id)).lines[0]!.quantity).toBe(1)
    })

    it('refuses a line whose tax makes the total overflow (fixedRateTax on a subtotal near the limit)', async () => {
      const shop = await open({ tax: fixedRateTax({ rate: '8' }) })
      const variantId = await pricedVariant(shop, 'NEAR', MAX - 2 ** 48)
      const cart = await shop.commerce.carts.create({ currency: 'USD' })
      await expectRefusedUnchanged(shop, cart.id, () => shop.commerce.carts.addItem(cart.id, { variantId, quantity: 1 }))
      expect((await shop.commerce.carts.get(cart.id)).lines).toEqual([])
    })

    it('refuses an address whose tax rate makes the total overflow, and keeps the old address', async () => {
      const shop = await open({ tax: fixedRateTax({ rate: '0', countries: { DE: '50' } }) })
      const variantId = await pricedVariant(shop, 'BIG', HALF + 2 ** 51)
      const cart = await shop.commerce.carts.create({ currency: 'USD' })
      await shop.commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
      await shop.commerce.carts.update(cart.id, { shippingAddress: { ...address, country: 'US' } })
      await expectRefusedUnchanged(shop, cart.id, () => shop.commerce.carts.update(cart.id, { shippingAddress: { ...address, country: 'DE' } }))
      expect((await shop.commerce.carts.get(cart.id)).shippingAddress!.country).toBe('US')
    })

    it('refuses a shipping option whose amount makes the total overflow', async () => {
      const shop = await open({ tax: fixedRateTax({ rate: '0' }) })
      const variantId = await pricedVariant(shop, 'EDGE', MAX - 100)
      const cart = await shop.commerce.carts.create({ currency: 'USD' })
      await shop.commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
      await shop.commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address })
      const [option] = await shop.commerce.carts.listShippingOptions(cart.id)
      expect(option!.amount).toBe(500)
      await expectRefusedUnchanged(shop, cart.id, () => shop.commerce.carts.setShippingOption(cart.id, option!.id))
      expect((await shop.commerce.carts.get(cart.id)).shippingMethod).toBeNull()
    })
  })

  describe('a stored cart whose prices rose past the limit', () => {
    it('is readable, flagged, refused at checkout with INVALID_STATE, and accepts only changes that lower it', async () => {
      const shop = await open()
      const { commerce } = shop
      const other = shop.shoe.variants[1]!.id
      const cart = await readyCart(commerce, shop.variantId, 10)
      await commerce.carts.addItem(cart.id, { variantId: other, quantity: 10 })
      // An admin raises both prices after the cart holds 10 units of each.
      await commerce.catalog.setPrices(shop.variantId, [{ currency: 'USD', amount: HALF }])
      await commerce.catalog.setPrices(other, [{ currency: 'USD', amount: HALF }])

      const flagged = await commerce.carts.get(cart.id)
      expect(flagged.status).toBe('open')
      expect(flagged.pricingProblem).toMatch(/cannot be priced/)
      expect(flagged.lines.map((l) => [l.variantId, l.quantity, l.unitPrice])).toEqual([
        [shop.variantId, 10, HALF],
        [other, 10, HALF],
      ])
      expect(shownTotals(flagged.totals)).toEqual({ subtotal: 0, discountTotal: 0, shippingTotal: 0, taxTotal: 0, rounding: 0, total: 0 })
      expect(await commerce.carts.get(cart.id)).toEqual(flagged)

      const refused = await failure(checkout(commerce, cart.id), 'INVALID_STATE')
      expect(refused.message).toMatch(/cannot be priced/)
      expect(await commerce.db.selectFrom('cw_payments').select('id').execute()).toEqual([])
      expect((await commerce.inventory.levels(shop.variantId))[0]).toMatchObject({ reserved: 0 })

      // Changes that do not lower it are refused and change nothing.
      await expectRefusedUnchanged(shop, cart.id, () => commerce.carts.addItem(cart.id, { variantId: shop.shoe.variants[2]!.id, quantity: 1 }))
      await expectRefusedUnchanged(shop, cart.id, () => commerce.carts.update(cart.id, { email: 'grace@example.com' }))

      // Removing one line still leaves it over the limit: accepted, and still flagged.
      const [first, second] = flagged.lines as [Cart['lines'][number], Cart['lines'][number]]
      const lowered = await commerce.carts.removeItem(cart.id, second.id)
      expect(lowered.lines.map((l) => l.id)).toEqual([first.id])
      expect(lowered.pricingProblem).toMatch(/cannot be priced/)
      expect(await commerce.carts.get(cart.id)).toEqual(lowered)

      // One unit fits: priced again, and it checks out.
      const fits = await commerce.carts.updateItem(cart.id, first.id, { quantity: 1 })
      expect(fits.pricingProblem).toBeNull()
      expect(fits.totals.subtotal).toBe(HALF)
      expect(fits.totals.total).toBe(HALF + 500 + Math.round(HALF * 0.08) + 40)
      expect(await commerce.carts.get(cart.id)).toEqual(fits)
      const order = await checkout(commerce, cart.id)
      expect(order.totals.total).toBe(fits.totals.total)
    })
  })

  describe('cart changes', () => {
    it('return the cart exactly as carts.get then reads it', async () => {
      const shop = await open()
      const { commerce, variantId } = shop
      const other = shop.shoe.variants[1]!.id
      const cart = await commerce.carts.create({ currency: 'USD' })
      const steps: Array<() => Promise<Cart>> = [
        () => commerce.carts.addItem(cart.id, { variantId, quantity: 2 }),
        () => commerce.carts.addItem(cart.id, { variantId: other, quantity: 1 }),
        () => commerce.carts.addItem(cart.id, { variantId, quantity: 1 }),
        () => commerce.carts.update(cart.id, { email: 'ada@example.com', shippingAddress: address, metadata: { note: 'gift' } }),
        () => commerce.carts.setShippingOption(cart.id, 'flat:standard'),
        async () => commerce.carts.updateItem(cart.id, (await commerce.carts.get(cart.id)).lines[1]!.id, { quantity: 4 }),
        async () => commerce.carts.removeItem(cart.id, (await commerce.carts.get(cart.id)).lines[0]!.id),
      ]
      let version = (await stored(commerce, cart.id)).row.version
      for (const step of steps) {
        const returned = await step()
        expect(await commerce.carts.get(cart.id)).toEqual(returned)
        const now = (await stored(commerce, cart.id)).row.version
        expect(now).toBe(version + 1)
        version = now
      }
    })

    it('made concurrently from the same version all apply: six adds of one unit to a line of one make seven', async () => {
      const N = 6
      const allPriced = gate()
      let arrived = 0
      const points: Partial<TestPoints> = {
        // Every add has read and priced the cart at the same version before any of them writes.
        'cart.change.priced': async ({ attempt }) => {
          if (attempt !== 1 || arrived < 0) return
          if (++arrived === N) allPriced.open()
          await allPriced.promise
        },
      }
      const shop = await open({ testPoints: points })
      const { commerce, variantId } = shop
      const cart = await commerce.carts.create({ currency: 'USD' })
      arrived = -1 // this first add passes the point alone
      await commerce.carts.addItem(cart.id, { variantId, quantity: 1 })
      arrived = 0
      const before = await stored(commerce, cart.id)
      const results = await Promise.all(Array.from({ length: N }, () => commerce.carts.addItem(cart.id, { variantId, quantity: 1 })))
      expect(results.map((c) => c.lines[0]!.quantity).sort()).toEqual([2, 3, 4, 5, 6, 7])
      const after = await stored(commerce, cart.id)
      expect(after.lines.map((l) => l.quantity)).toEqual([1 + N])
      expect(after.row.version).toBe(before.row.version + N)
      expect(after.events.filter((e) => e.type === 'cart.item_added')).toHaveLength(before.events.filter((e) => e.type === 'cart.item_added').length + N)
    })

    it('that meet a checkout claimed meanwhile are refused with INVALID_STATE, and the order holds what was claimed', async () => {
      let shop: Shop
      let armed = false
      const points: Partial<TestPoints> = {
        // The shopper's other tab checks out after this change was priced and before it is written.
        'cart.change.priced': async ({ cartId, attempt }) => {
          if (!armed || attempt !== 1) return
          armed = false
          await checkout(shop.commerce, cartId, key())
        },
      }
      shop = await open({ testPoints: points })
      const { commerce, variantId } = shop
      const cart = await readyCart(commerce, variantId, 1)
      armed = true
      const before = (await stored(commerce, cart.id)).lines
      const error = await failure(commerce.carts.addItem(cart.id, { variantId: shop.shoe.variants[1]!.id, quantity: 1 }), 'INVALID_STATE')
      expect(error.message).toMatch(/completed/)
      expect((await stored(commerce, cart.id)).lines).toEqual(before)
      const order = await commerce.orders.get((await commerce.carts.get(cart.id)).orderId!)
      expect(order.lines.map((l) => [l.variantId, l.quantity])).toEqual([[variantId, 1]])
    })
  })

  it('checkout refuses a flagged cart even where nothing else is missing (no shipping needed), without reserving or charging', async () => {
    const shop = await open({ shipping: [] })
    const { commerce, variantId } = shop
    const cart = await commerce.carts.create({ currency: 'USD', email: 'ada@example.com' })
    await commerce.carts.addItem(cart.id, { variantId, quantity: 3 })
    await commerce.catalog.setPrices(variantId, [{ currency: 'USD', amount: MAX }])
    const flagged = await commerce.carts.get(cart.id)
    expect(flagged.totals.total).toBe(0)
    const error = await failure(checkout(commerce, cart.id), 'INVALID_STATE')
    expect(error.details.problems).toEqual([flagged.pricingProblem])
    expect(shop.payments.calls).toEqual([])
    expect(await commerce.db.selectFrom('cw_orders').select('id').execute()).toEqual([])
    expect((await commerce.inventory.levels(variantId))[0]).toMatchObject({ reserved: 0 })
    expect((await commerce.carts.get(cart.id)).status).toBe('open')
  })
}
