import { allocate, multiplyAmount, sumAmounts } from './money.js'
import type { Adjustment, Totals } from './types.js'

/** A line with its server-side unit price. */
export interface PricedLine {
  id: string
  quantity: number
  unitPrice: number
}

/**
 * Splits each adjustment over the lines it targets in proportion to what is left of their
 * subtotals (largest remainder), so discounts on a line never exceed its subtotal and the
 * parts of each adjustment sum to the amount applied. Returns the discount per line id.
 */
export function lineDiscounts(lines: readonly PricedLine[], adjustments: readonly Adjustment[]): Map<string, number> {
  const remaining = new Map(lines.map((l) => [l.id, multiplyAmount(l.unitPrice, l.quantity)]))
  const discounts = new Map(lines.map((l) => [l.id, 0]))
  for (const adjustment of adjustments) {
    const targets = lines.filter((l) => !adjustment.lineIds || adjustment.lineIds.includes(l.id))
    if (targets.length === 0) continue
    const weights = targets.map((l) => remaining.get(l.id)!)
    const room = sumAmounts(weights)
    const amount = Math.min(Math.max(0, adjustment.amount), room)
    if (amount === 0) continue
    const parts = allocate(amount, weights)
    targets.forEach((line, i) => {
      remaining.set(line.id, remaining.get(line.id)! - parts[i]!)
      discounts.set(line.id, discounts.get(line.id)! + parts[i]!)
    })
  }
  return discounts
}

/**
 * Totals from parts, exactly: `total = subtotal - discountTotal + shippingTotal + taxTotal`.
 *
 * @example
 * ```ts
 * computeTotals({ lineSubtotals: [12900], lineDiscounts: [0], lineTaxes: [1032], shipping: 500, shippingTax: 40 })
 * // { subtotal: 12900, discountTotal: 0, shippingTotal: 500, taxTotal: 1072, total: 14472 }
 * ```
 */
export function computeTotals(input: {
  lineSubtotals: readonly number[]
  lineDiscounts: readonly number[]
  lineTaxes: readonly number[]
  shipping: number
  shippingTax: number
}): Totals {
  const subtotal = sumAmounts(input.lineSubtotals)
  const discountTotal = sumAmounts(input.lineDiscounts)
  const taxTotal = sumAmounts([...input.lineTaxes, input.shippingTax])
  const total = sumAmounts([subtotal, -discountTotal, input.shipping, taxTotal])
  return { subtotal, discountTotal, shippingTotal: input.shipping, taxTotal, total }
}
