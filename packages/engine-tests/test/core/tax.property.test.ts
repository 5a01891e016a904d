import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { computeTotals, itemTaxes, percent, roundFraction, type TaxItem, type TaxRounding } from '@cartwright/core'

/**
 * Acceptance (issue 12, done-means 1): for random items, rates and each rounding policy, the tax of
 * each item is within half a minor unit of its exact share at its rounding level, parts add up to
 * the item's tax, net + tax = gross, every amount is a safe integer, and totals built from the items
 * add up in both views. Expectations are computed here with BigInt fractions, independently of
 * `itemTaxes`.
 */

const RUNS = Number(process.env.TAX_PROPERTY_RUNS ?? 10_000)

const POLICIES: TaxRounding[] = (['unit', 'line', 'total'] as const).flatMap((level) => (['half-up', 'half-even'] as const).map((mode) => ({ level, mode })))

/** A percentage with up to 3 decimals, between 0 and 30. */
const rateText = fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 0, max: 999 }), fc.integer({ min: 0, max: 3 })).map(([whole, fraction, digits]) =>
  digits === 0 ? String(whole) : `${whole}.${String(fraction).padStart(3, '0').slice(0, digits)}`,
)

const itemArb = fc.record({
  amount: fc.oneof(fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 2_000_000_000 })),
  quantity: fc.integer({ min: 1, max: 50 }),
  taxInclusive: fc.boolean(),
  rates: fc.array(rateText, { maxLength: 3 }),
})

/** The exact tax of an amount as a fraction: on top (exclusive) or inside (inclusive). */
function exact(amount: bigint, rates: readonly string[], inclusive: boolean): { n: bigint; d: bigint } {
  // Every rate over 100 × 10^3.
  const d = 100_000n
  const n = rates.reduce((sum, r) => {
    const [w, f = ''] = r.split('.')
    return sum + BigInt(w! + f.padEnd(3, '0'))
  }, 0n)
  return inclusive ? { n: amount * n, d: d + n } : { n: amount * n, d }
}

/** |a/b − c| ≤ 1/2, i.e. c is a nearest integer to a/b. */
const nearest = (q: { n: bigint; d: bigint }, c: bigint) => {
  const diff = q.n - c * q.d
  return 2n * (diff < 0n ? -diff : diff) <= q.d
}

describe('itemTaxes', () => {
  for (const policy of POLICIES) {
    it(`${policy.level}, ${policy.mode}: parts add up, net + tax = gross, each tax is its exact share rounded at its level`, () => {
      fc.assert(
        fc.property(fc.array(itemArb, { maxLength: 6 }), (raw) => {
          const items: TaxItem[] = raw.map((i) => ({ ...i, rates: i.rates.map((r) => percent(r)) }))
          const taxes = itemTaxes(items, policy)
          expect(taxes).toHaveLength(items.length)
          let totalExact = { n: 0n, d: 1n }
          let totalTax = 0n
          taxes.forEach((t, i) => {
            const item = raw[i]!
            for (const amount of [t.tax, t.net, t.gross, ...t.parts]) expect(Number.isSafeInteger(amount) && amount >= 0).toBe(true)
            expect(t.parts).toHaveLength(item.rates.length)
            expect(t.parts.reduce((a, b) => a + b, 0)).toBe(item.rates.length ? t.tax : 0)
            expect(t.net + t.tax).toBe(t.gross)
            if (item.taxInclusive) expect(t.gross).toBe(item.amount)
            else expect(t.net).toBe(item.amount)
            const e = exact(BigInt(item.amount), item.rates, item.taxInclusive)
            if (policy.level === 'line') expect(nearest(e, BigInt(t.tax))).toBe(true)
            if (policy.level === 'unit') {
              // Each unit's tax is within half a unit of its share: the line within half a unit per unit.
              const diff = e.n - BigInt(t.tax) * e.d
              expect(2n * (diff < 0n ? -diff : diff) <= BigInt(item.quantity) * e.d).toBe(true)
            }
            if (policy.level === 'total') {
              // Each item gets its exact share rounded down or up.
              const floor = e.n / e.d
              expect(BigInt(t.tax) === floor || BigInt(t.tax) === floor + 1n).toBe(true)
            }
            totalExact = { n: totalExact.n * e.d + e.n * totalExact.d, d: totalExact.d * e.d }
            totalTax += BigInt(t.tax)
          })
          if (policy.level === 'total') expect(totalTax).toBe(roundFraction(totalExact.n, totalExact.d, policy.mode))
        }),
        { numRuns: RUNS },
      )
    })
  }

  it('rounds the issue’s fixed cases (20% VAT, tax-inclusive, half up)', () => {
    const vat = [percent('20')]
    const halfUp = (level: TaxRounding['level']): TaxRounding => ({ level, mode: 'half-up' })
    const [item, shipping] = itemTaxes(
      [
        { amount: 10000, quantity: 1, taxInclusive: true, rates: vat },
        { amount: 500, quantity: 1, taxInclusive: true, rates: vat },
      ],
      halfUp('line'),
    )
    expect(item).toEqual({ tax: 1667, parts: [1667], net: 8333, gross: 10000 })
    expect(shipping).toEqual({ tax: 83, parts: [83], net: 417, gross: 500 })
    const tenUnits = { amount: 38230, quantity: 10, taxInclusive: true, rates: vat }
    expect(itemTaxes([tenUnits], halfUp('unit'))[0]).toMatchObject({ tax: 6370, net: 31860 })
    expect(itemTaxes([tenUnits], halfUp('line'))[0]).toMatchObject({ tax: 6372, net: 31858 })
  })

  it('rounds a half by the mode: up, or to the even neighbour', () => {
    // 2.5% of 100 = 2.5 and 2.5% of 140 = 3.5
    const at = (amount: number, mode: TaxRounding['mode']) => itemTaxes([{ amount, quantity: 1, taxInclusive: false, rates: [percent('2.5')] }], { level: 'line', mode })[0]!.tax
    expect([at(100, 'half-up'), at(100, 'half-even'), at(140, 'half-up'), at(140, 'half-even')]).toEqual([3, 2, 4, 4])
  })
})

describe('computeTotals', () => {
  it('adds lines and shipping in both views: total = net + tax = gross, in the chosen convention', () => {
    const view = fc.record({ subtotal: fc.integer({ min: 0, max: 1e9 }), discount: fc.integer({ min: 0, max: 1e9 }), tax: fc.integer({ min: 0, max: 1e8 }) })
    fc.assert(
      fc.property(fc.array(view, { maxLength: 6 }), view, fc.boolean(), (lines, ship, taxInclusive) => {
        // Build each part so that net + tax = gross after the discount, with the discount clamped.
        const part = (v: { subtotal: number; discount: number; tax: number }) => {
          const discount = Math.min(v.discount, v.subtotal)
          return { net: { subtotal: v.subtotal, discountTotal: discount }, gross: { subtotal: v.subtotal + v.tax, discountTotal: discount }, taxTotal: v.tax }
        }
        const parts = lines.map(part)
        const s = part(ship)
        const totals = computeTotals({
          taxInclusive,
          lines: parts,
          shipping: { net: { amount: s.net.subtotal, discount: s.net.discountTotal }, gross: { amount: s.gross.subtotal, discount: s.gross.discountTotal }, taxTotal: s.taxTotal },
        })
        for (const amount of [totals.subtotal, totals.discountTotal, totals.shippingTotal, totals.taxTotal, totals.total]) expect(Number.isSafeInteger(amount)).toBe(true)
        expect(totals.total).toBe(totals.net.subtotal - totals.net.discountTotal + totals.net.shippingTotal + totals.taxTotal)
        expect(totals.total).toBe(totals.gross.subtotal - totals.gross.discountTotal + totals.gross.shippingTotal)
        expect(totals.total >= 0).toBe(true)
        const shown = taxInclusive ? totals.gross : totals.net
        expect({ subtotal: totals.subtotal, discountTotal: totals.discountTotal, shippingTotal: totals.shippingTotal }).toEqual(shown)
        expect(totals.taxTotal).toBe(parts.reduce((a, p) => a + p.taxTotal, 0) + s.taxTotal)
      }),
      { numRuns: RUNS },
    )
  })
})
