import { allocate, multiplyAmount, sumAmounts } from './money.js'
import type { Adjustment, Totals, TotalsView } from './types.js'

/** A line with its server-side unit price. */
export interface PricedLine {
  id: string
  quantity: number
  unitPrice: number
}

/** @internal One adjustment as applied: what it took off in all, off each line, and off shipping. */
export interface AppliedAdjustment {
  amount: number
  /** What it took off each line it targets, in the lines' order (zero parts included). */
  lines: Array<{ lineId: string; amount: number }>
  shipping: number
}

/** @internal What a list of adjustments took off: each adjustment's parts, each line's discount, and the shipping discount. */
export interface AppliedAdjustments {
  adjustments: AppliedAdjustment[]
  lineDiscounts: Map<string, number>
  shippingDiscount: number
}

/**
 * @internal Applies adjustments in order, each to what the earlier ones left. One on lines (the
 * default target) is split over the lines it targets in proportion to what is left of their
 * subtotals (largest remainder); one on shipping comes off what is left of `shipping`. Each is
 * clamped to what is left of its targets, so no line and no shipping amount goes below 0, and the
 * parts of each adjustment sum to the amount it took off. Pure: the same inputs give the same parts,
 * and applying the amounts it returns again gives the same parts again.
 */
export function applyAdjustments(lines: readonly PricedLine[], adjustments: readonly Adjustment[], shipping: number): AppliedAdjustments {
  const remaining = new Map(lines.map((l) => [l.id, multiplyAmount(l.unitPrice, l.quantity)]))
  const discounts = new Map(lines.map((l) => [l.id, 0]))
  let shippingLeft = Math.max(0, shipping)
  const applied: AppliedAdjustment[] = []
  for (const adjustment of adjustments) {
    const wanted = Math.max(0, adjustment.amount)
    if (adjustment.target === 'shipping') {
      const amount = Math.min(wanted, shippingLeft)
      shippingLeft -= amount
      applied.push({ amount, lines: [], shipping: amount })
      continue
    }
    const targets = lines.filter((l) => !adjustment.lineIds || adjustment.lineIds.includes(l.id))
    const weights = targets.map((l) => remaining.get(l.id)!)
    const room = sumAmounts(weights)
    const amount = Math.min(wanted, room)
    const parts = amount === 0 ? targets.map(() => 0) : allocate(amount, weights)
    targets.forEach((line, i) => {
      remaining.set(line.id, remaining.get(line.id)! - parts[i]!)
      discounts.set(line.id, discounts.get(line.id)! + parts[i]!)
    })
    applied.push({ amount, lines: targets.map((l, i) => ({ lineId: l.id, amount: parts[i]! })), shipping: 0 })
  }
  return { adjustments: applied, lineDiscounts: discounts, shippingDiscount: Math.max(0, shipping) - shippingLeft }
}

/**
 * Splits each adjustment on lines over the lines it targets in proportion to what is left of
 * their subtotals (largest remainder), so discounts on a line never exceed its subtotal and the
 * parts of each adjustment sum to the amount applied. Returns the discount per line id;
 * adjustments on shipping take nothing off lines.
 *
 * @example
 * ```ts
 * lineDiscounts(
 *   [{ id: 'a', quantity: 1, unitPrice: 3000 }, { id: 'b', quantity: 1, unitPrice: 1000 }],
 *   [{ code: 'TEN', label: '10.00 off', amount: 1000 }],
 * )
 * // Map { 'a' => 750, 'b' => 250 }
 * ```
 */
export function lineDiscounts(lines: readonly PricedLine[], adjustments: readonly Adjustment[]): Map<string, number> {
  return applyAdjustments(lines, adjustments, 0).lineDiscounts
}

/**
 * Totals from parts, exactly. Each line and the shipping charge come in both views, without tax
 * (`net`) and with it (`gross`), as priced (`net + tax = gross`); `taxInclusive` picks the view that
 * `subtotal`, `discountTotal` and `shippingTotal` show. `rounding` is 0: only checkout rounds an
 * order's total, to its payment provider's charge step. So
 * `total = net.subtotal - net.discountTotal + net.shippingTotal + taxTotal
 * = gross.subtotal - gross.discountTotal + gross.shippingTotal`, where `discountTotal` counts the
 * lines' discounts and the shipping discount, and `shippingTotal` is the shipping charge before its
 * discount.
 *
 * @example
 * ```ts
 * // 129.00 plus 8% tax (10.32), shipping 5.00 plus 0.40:
 * computeTotals({
 *   taxInclusive: false,
 *   lines: [{ net: { subtotal: 12900, discountTotal: 0 }, gross: { subtotal: 13932, discountTotal: 0 }, taxTotal: 1032 }],
 *   shipping: { net: { amount: 500, discount: 0 }, gross: { amount: 540, discount: 0 }, taxTotal: 40 },
 * })
 * // { subtotal: 12900, discountTotal: 0, shippingTotal: 500, taxTotal: 1072, rounding: 0, total: 14472, taxInclusive: false,
 * //   net: { subtotal: 12900, discountTotal: 0, shippingTotal: 500 }, gross: { subtotal: 13932, discountTotal: 0, shippingTotal: 540 } }
 * ```
 */
export function computeTotals(input: {
  taxInclusive: boolean
  lines: ReadonlyArray<{ net: { subtotal: number; discountTotal: number }; gross: { subtotal: number; discountTotal: number }; taxTotal: number }>
  shipping: { net: { amount: number; discount: number }; gross: { amount: number; discount: number }; taxTotal: number }
}): Totals {
  const view = (pick: 'net' | 'gross'): TotalsView => ({
    subtotal: sumAmounts(input.lines.map((l) => l[pick].subtotal)),
    discountTotal: sumAmounts([...input.lines.map((l) => l[pick].discountTotal), input.shipping[pick].discount]),
    shippingTotal: input.shipping[pick].amount,
  })
  const net = view('net')
  const gross = view('gross')
  const taxTotal = sumAmounts([...input.lines.map((l) => l.taxTotal), input.shipping.taxTotal])
  const total = sumAmounts([net.subtotal, -net.discountTotal, net.shippingTotal, taxTotal])
  const grossTotal = sumAmounts([gross.subtotal, -gross.discountTotal, gross.shippingTotal])
  // Holds by construction (each part's net + tax = gross); a failure here is a bug, never bad input.
  if (total !== grossTotal) throw new Error(`[cartwright] totals do not add up: net + tax ${total}, gross ${grossTotal}`)
  const shown = input.taxInclusive ? gross : net
  return { ...shown, taxTotal, rounding: 0, total, taxInclusive: input.taxInclusive, net, gross }
}
