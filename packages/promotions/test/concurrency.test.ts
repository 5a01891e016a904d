import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { isCommerceError, type Order } from '@cartwright/core'
import { openShop, pool, STORAGES, type Shop } from './support.js'

/**
 * Usage limits under concurrency: each checkout takes its use in the claim's transaction with a
 * conditional update, so no more orders carry a promotion than its limit, and the others are
 * refused before any payment (the gateway is never called for them, no payment row is written).
 */
describe.each(STORAGES)('usage limits under concurrent checkouts on %s', (storage) => {
  let shop: Shop
  afterEach(async () => {
    await shop?.close()
  })

  const count = async (query: string) => Number((await sql.raw<{ n: number | string }>(query).execute(shop.commerce.db)).rows[0]!.n)

  /** `buyers` carts with the code entered, then all checked out at once (at most `parallel` in flight). */
  async function race(limit: number, buyers: number, parallel: number) {
    const { commerce } = shop
    const promo = await commerce.promotions.create({ name: `Limited ${limit}`, code: 'RACE', discount: { type: 'percentage', percent: '10' }, usageLimit: limit })
    const carts = await pool(
      Array.from({ length: buyers }, (_, i) => i),
      10,
      (i) => shop.cart(`buyer${i}@example.com`, [[shop.sock, 1]], { codes: ['race'] }),
    )
    const authorizations = shop.gateway.authorizations()
    const outcomes = await pool(carts, parallel, async (cartId) => {
      try {
        return await shop.checkout(cartId)
      } catch (error) {
        return error
      }
    })
    const orders = outcomes.filter((o): o is Order => !(o instanceof Error))
    const refused = outcomes.filter((o) => o instanceof Error)
    return { promo, orders, refused, authorizations: shop.gateway.authorizations() - authorizations }
  }

  it('limit 1, 50 checkouts at once: exactly 1 order carries the discount, 49 are refused before any payment', async () => {
    shop = await openShop(storage)
    const { promo, orders, refused, authorizations } = await race(1, 50, 50)
    expect(orders).toHaveLength(1)
    expect(orders[0]!.totals.discountTotal).toBe(150)
    expect(refused).toHaveLength(49)
    for (const error of refused) expect(isCommerceError<string>(error, 'PROMOTION_UNAVAILABLE'), String(error)).toBe(true)
    expect(authorizations).toBe(1)
    expect(await count('select count(*) as n from cw_payments')).toBe(1)
    expect(await count('select count(*) as n from cw_orders')).toBe(1)
    expect((await shop.commerce.promotions.get(promo.id)).used).toBe(1)
    expect(await count('select count(*) as n from promotions_uses where released_at is null')).toBe(1)
  })

  it('limit 100, 500 buyers: exactly 100 orders carry the discount', async () => {
    shop = await openShop(storage)
    const { promo, orders, refused, authorizations } = await race(100, 500, 10)
    expect(orders).toHaveLength(100)
    for (const order of orders) expect(order.adjustments.map((a) => a.code)).toEqual(['RACE'])
    expect(refused).toHaveLength(400)
    for (const error of refused) expect(isCommerceError<string>(error, 'PROMOTION_UNAVAILABLE'), String(error)).toBe(true)
    expect(authorizations).toBe(100)
    expect(await count('select count(*) as n from cw_payments')).toBe(100)
    expect((await shop.commerce.promotions.usage(promo.id)).remaining).toBe(0)
  }, 180_000)

  it('a declined payment gives its use back, and a buyer who was refused gets it then', async () => {
    shop = await openShop(storage)
    const { commerce } = shop
    const promo = await commerce.promotions.create({ name: 'One', code: 'ONE', discount: { type: 'percentage', percent: '10' }, usageLimit: 1 })
    const first = await shop.cart('first@example.com', [[shop.sock, 1]], { codes: ['ONE'] })
    const second = await shop.cart('second@example.com', [[shop.sock, 1]], { codes: ['ONE'] })
    // The first checkout holds the use while its payment is being declined: the second is refused.
    shop.gateway.script({ delayMs: 300, then: 'decline' })
    const declined = shop.checkout(first).catch((e: unknown) => e)
    await new Promise((resolve) => setTimeout(resolve, 100))
    const refused = await shop.checkout(second).catch((e: unknown) => e)
    expect(isCommerceError<string>(refused, 'PROMOTION_UNAVAILABLE'), String(refused)).toBe(true)
    expect(isCommerceError<string>(await declined, 'PAYMENT_DECLINED'), String(await declined)).toBe(true)
    expect((await commerce.promotions.get(promo.id)).used).toBe(0)
    const order = await shop.checkout(second)
    expect(order.totals.discountTotal).toBe(150)
    expect((await commerce.promotions.get(promo.id)).used).toBe(1)
  })
})
