import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatePromotionInput } from '../src/index.js'
import { openShop, STORAGES, type Shop } from './support.js'

/** Through the engine: a few hundred random carts on SQLite, fewer on PostgreSQL (the same rules, a slower database). */
const RUNS = { sqlite: 150, postgres: 30 } as const

const discount = fc.oneof(
  fc.record({ type: fc.constant('percentage' as const), percent: fc.constantFrom('5', '12.5', '33.3333', '50', '99.99', '100'), appliesTo: fc.constantFrom('order' as const, 'matching_lines' as const) }),
  fc.record({ type: fc.constant('fixed' as const), amount: fc.integer({ min: 1, max: 50_000 }), currency: fc.constant('USD'), appliesTo: fc.constantFrom('order' as const, 'matching_lines' as const) }),
  fc.record({ type: fc.constant('shipping_percentage' as const), percent: fc.constantFrom('10', '50', '100') }),
  fc.constant({ type: 'free_shipping' as const }),
  fc.record({ type: fc.constant('buy_x_get_y' as const), buy: fc.integer({ min: 1, max: 3 }), get: fc.integer({ min: 1, max: 2 }), percent: fc.constantFrom('50', '100') }),
)

const promo = fc.record({
  discount,
  tag: fc.constantFrom(undefined, 'running', 'wool'),
  stacking: fc.constantFrom('exclusive' as const, 'combinable' as const),
  priority: fc.integer({ min: 0, max: 3 }),
})

const run = fc.record({
  quantities: fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 3 })).filter((q) => q.some((n) => n > 0)),
  promos: fc.array(promo, { minLength: 1, maxLength: 3 }),
  everything: fc.boolean(),
})

describe.each(STORAGES)('random promotions through the engine on %s', (storage) => {
  let shop: Shop
  beforeAll(async () => {
    shop = await openShop(storage)
  })
  afterAll(async () => {
    await shop?.close()
  })

  it('no line or total goes negative, adjustments add up on the order, and 100% off the order applied last leaves every line at exactly 0', async () => {
    let n = 0
    await fc.assert(
      fc.asyncProperty(run, async ({ quantities, promos, everything }) => {
        const { commerce } = shop
        const tag = `R${++n}`
        const codes: string[] = []
        for (const [i, p] of promos.entries()) {
          const input: CreatePromotionInput = { name: `Run ${n}.${i}`, code: `${tag}X${i}`, discount: p.discount, stacking: p.stacking, priority: p.priority, ...(p.tag ? { conditions: { tags: [p.tag] } } : {}) }
          await commerce.promotions.create(input)
          codes.push(`${tag}X${i}`)
        }
        if (everything) {
          await commerce.promotions.create({ name: `Run ${n} all free`, code: `${tag}ALL`, discount: { type: 'percentage', percent: '100' }, stacking: 'combinable', priority: -1 })
          codes.push(`${tag}ALL`)
        }
        const items = ([[shop.shoe, quantities[0]], [shop.sock, quantities[1]], [shop.hat, quantities[2]]] as const).filter(([, q]) => q > 0)
        const cartId = await shop.cart(`run${n}@example.com`, items.map(([p, q]) => [p, q]), { codes })
        const cart = await commerce.carts.get(cartId)
        for (const l of cart.lines) {
          expect(l.discountTotal).toBeGreaterThanOrEqual(0)
          expect(l.subtotal - l.discountTotal).toBeGreaterThanOrEqual(0)
          expect(l.total).toBeGreaterThanOrEqual(0)
          if (everything) expect(l.subtotal - l.discountTotal).toBe(0)
        }
        expect(cart.totals.total).toBeGreaterThanOrEqual(0)
        const shippingDiscount = cart.adjustments.filter((a) => a.target === 'shipping').reduce((s, a) => s + a.amount, 0)
        expect(shippingDiscount).toBeLessThanOrEqual(cart.totals.shippingTotal)
        expect(cart.lines.reduce((s, l) => s + l.discountTotal, 0) + shippingDiscount).toBe(cart.totals.discountTotal)
        if (n % 4 !== 0) return
        // Every fourth cart is ordered: each adjustment's parts on the order add up to what the cart showed.
        const order = await shop.checkout(cartId)
        expect(order.totals.discountTotal).toBe(cart.totals.discountTotal)
        cart.adjustments.forEach((a, position) => {
          const parts = order.adjustments.filter((o) => o.position === position)
          expect(parts.reduce((s, o) => s + o.amount, 0)).toBe(a.amount)
        })
        for (const l of order.lines) expect(order.adjustments.filter((a) => a.lineId === l.id).reduce((s, a) => s + a.amount, 0)).toBe(l.discountTotal)
      }),
      { numRuns: RUNS[storage], seed: 12 },
    )
  }, 120_000)
})
