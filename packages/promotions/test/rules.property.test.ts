import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { allocate, lineDiscounts } from '@cartwright/core'
import { buyXGetYUnits, qualifies, selectPromotions, selectShippingPromotions, type Discount, type RuleCart, type RulePromotion } from '../src/index.js'

/** 10,000 runs on each pure function: they are what every pricing runs. */
const RUNS = 10_000

const line = (i: number) =>
  fc.record({
    unitPrice: fc.integer({ min: 0, max: 1_000_000 }),
    quantity: fc.integer({ min: 1, max: 50 }),
    product: fc.integer({ min: 0, max: 3 }),
  }).map((l) => ({ id: `line_${i}`, productId: `prod_${l.product}`, variantId: `var_${l.product}`, quantity: l.quantity, unitPrice: l.unitPrice, subtotal: l.unitPrice * l.quantity }))

const lines = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => line(i))))

const percentArb = fc.oneof(fc.constant('100'), fc.constant('0.0001'), fc.integer({ min: 1, max: 1_000_000 }).map((n) => String(n / 10_000).replace(/(\.\d{4})\d+$/, '$1')))

const discount: fc.Arbitrary<Discount> = fc.oneof(
  fc.record({ type: fc.constant('percentage' as const), percent: percentArb, appliesTo: fc.constantFrom('order' as const, 'matching_lines' as const) }),
  fc.record({ type: fc.constant('fixed' as const), amount: fc.integer({ min: 1, max: 10_000_000 }), currency: fc.constant('USD'), appliesTo: fc.constantFrom('order' as const, 'matching_lines' as const) }),
  fc.record({ type: fc.constant('shipping_percentage' as const), percent: percentArb }),
  fc.constant({ type: 'free_shipping' as const }),
  fc.record({ type: fc.constant('buy_x_get_y' as const), buy: fc.integer({ min: 1, max: 4 }), get: fc.integer({ min: 1, max: 3 }), percent: percentArb }),
)

const promotion = (i: number): fc.Arbitrary<RulePromotion> =>
  fc.record({
    discount,
    products: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 3 }), { nil: undefined }),
    stacking: fc.constantFrom('exclusive' as const, 'combinable' as const),
    priority: fc.integer({ min: -3, max: 3 }),
  }).map((p) => ({
    id: `promo_${i}`,
    code: `CODE${i}`,
    label: `Promotion ${i}`,
    discount: p.discount,
    conditions: p.products ? { productIds: p.products.map((n) => `prod_${n}`) } : {},
    stacking: p.stacking,
    priority: p.priority,
    createdAt: `2026-01-0${(i % 9) + 1}T00:00:00.000Z`,
  }))

const promotions = fc.integer({ min: 1, max: 5 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => promotion(i))))

describe('promotion rules (pure)', () => {
  it('line discounts never exceed what is left of a line, each adjustment is split exactly, and core applies the amounts unclamped', () => {
    fc.assert(
      fc.property(lines, promotions, (ls, ps) => {
        const cart: RuleCart = { currency: 'USD', lines: ls }
        const { adjustments, value } = selectPromotions(ps, cart)
        const left = new Map(ls.map((l) => [l.id, l.subtotal]))
        for (const a of adjustments) {
          expect(a.target).not.toBe('shipping')
          expect(Number.isSafeInteger(a.amount) && a.amount > 0).toBe(true)
          const targets = ls.filter((l) => !a.lineIds || a.lineIds.includes(l.id))
          const weights = targets.map((l) => left.get(l.id)!)
          // Never more than what is left: core has nothing to clamp.
          expect(a.amount).toBeLessThanOrEqual(weights.reduce((x, y) => x + y, 0))
          const parts = allocate(a.amount, weights)
          expect(parts.reduce((x, y) => x + y, 0)).toBe(a.amount)
          targets.forEach((l, i) => left.set(l.id, left.get(l.id)! - parts[i]!))
        }
        for (const amount of left.values()) expect(amount).toBeGreaterThanOrEqual(0)
        // Core's own split gives the same discounts per line.
        const core = lineDiscounts(ls.map((l) => ({ id: l.id, quantity: l.quantity, unitPrice: l.unitPrice })), adjustments)
        for (const l of ls) expect(core.get(l.id)).toBe(l.subtotal - left.get(l.id)!)
        expect(value).toBe(adjustments.reduce((s, a) => s + a.amount, 0))
        expect(value).toBeLessThanOrEqual(ls.reduce((s, l) => s + l.subtotal, 0))
      }),
      { numRuns: RUNS },
    )
  })

  it('a 100% discount on the order leaves exactly 0, whatever else is combined before it', () => {
    fc.assert(
      fc.property(lines, promotions, (ls, others) => {
        const full: RulePromotion = { id: 'promo_full', code: 'FULL', label: 'All free', discount: { type: 'percentage', percent: '100', appliesTo: 'order' }, conditions: {}, stacking: 'combinable', priority: -10, createdAt: '2026-02-01T00:00:00.000Z' }
        const combinable = others.map((p) => ({ ...p, stacking: 'combinable' as const }))
        const { adjustments } = selectPromotions([...combinable, full], { currency: 'USD', lines: ls })
        const core = lineDiscounts(ls, adjustments)
        for (const l of ls) expect(core.get(l.id)).toBe(l.subtotal)
      }),
      { numRuns: RUNS },
    )
  })

  it('shipping discounts never take more than the shipping charge, each a positive integer', () => {
    fc.assert(
      fc.property(lines, promotions, fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }), (ls, ps, shipping, before) => {
        const cart: RuleCart = { currency: 'USD', lines: ls }
        const { adjustments, value } = selectShippingPromotions(ps, cart, shipping, [{ code: 'OTHER', label: 'Another plugin', amount: before, target: 'shipping' }])
        for (const a of adjustments) {
          expect(a.target).toBe('shipping')
          expect(Number.isSafeInteger(a.amount) && a.amount > 0).toBe(true)
        }
        expect(value).toBe(adjustments.reduce((s, a) => s + a.amount, 0))
        expect(value).toBeLessThanOrEqual(Math.max(0, shipping - before))
        // A free shipping that qualifies, exclusive or combined, is the best there is: nothing of the charge is left.
        if (ps.some((p) => p.discount.type === 'free_shipping' && qualifies(p, cart))) {
          expect(value).toBe(Math.max(0, shipping - before))
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('the choice is never worth less than any exclusive promotion alone or the combinable ones together, in each class', () => {
    fc.assert(
      fc.property(lines, promotions, fc.integer({ min: 0, max: 100_000 }), (ls, ps, shipping) => {
        const cart: RuleCart = { currency: 'USD', lines: ls }
        for (const select of [(xs: RulePromotion[]) => selectPromotions(xs, cart), (xs: RulePromotion[]) => selectShippingPromotions(xs, cart, shipping)]) {
          const best = select(ps).value
          for (const p of ps.filter((x) => x.stacking === 'exclusive')) expect(best).toBeGreaterThanOrEqual(select([{ ...p, stacking: 'combinable' }]).value)
          expect(best).toBeGreaterThanOrEqual(select(ps.filter((x) => x.stacking === 'combinable')).value)
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('buy X get Y discounts floor(units / (X + Y)) × Y units, the cheapest ones, never more than a line holds', () => {
    fc.assert(
      fc.property(lines, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), (ls, buy, get) => {
        const counts = buyXGetYUnits(ls, buy, get)
        const units = ls.reduce((s, l) => s + l.quantity, 0)
        expect([...counts.values()].reduce((s, n) => s + n, 0)).toBe(Math.floor(units / (buy + get)) * get)
        for (const l of ls) expect(counts.get(l.id)!).toBeLessThanOrEqual(l.quantity)
        // Every discounted unit costs no more than any unit left at full price.
        const discounted = ls.filter((l) => counts.get(l.id)! > 0).map((l) => l.unitPrice)
        const full = ls.filter((l) => counts.get(l.id)! < l.quantity).map((l) => l.unitPrice)
        if (discounted.length && full.length) expect(Math.max(...discounted)).toBeLessThanOrEqual(Math.min(...full))
      }),
      { numRuns: RUNS },
    )
  })
})
