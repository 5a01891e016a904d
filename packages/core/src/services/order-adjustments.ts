import { compiledQuery } from '../db/compiled-query.js'
import type { OrderAdjustmentTable, OrderLineTable, Tx } from '../db/database.js'
import type { Runtime } from '../runtime.js'
import { applyAdjustments } from '../totals.js'
import type { Cart } from '../types.js'

/**
 * The adjustments an order keeps: what each discount of the cart took off each order line and off
 * shipping, written with the order so that refunds, invoices and reports see what the shopper was
 * charged (`Order.adjustments`).
 */

const insertAdjustments = compiledQuery((db, $: { rows: OrderAdjustmentTable[] }) => db.insertInto('cw_order_adjustments').values($.rows))

/**
 * @internal Writes, in the placement transaction, one row per adjustment of `cart` per order line
 * it took money off, and one per adjustment on shipping that took money off it; returns them in
 * order (by adjustment, then by line). Writes nothing for a cart without discounts.
 *
 * The parts are computed again from the cart as priced at checkout (its lines' unit prices and
 * quantities, its shipping amount and its adjustments, in order) with the same pure split that
 * priced it (`applyAdjustments`), so they add up to each line's `discountTotal` and to the order's
 * `discountTotal`. `orderLines` are the order's lines, made from `cart.lines` in order (`position`).
 */
export async function insertOrderAdjustments(
  rt: Runtime,
  tx: Tx,
  orderId: string,
  cart: Cart,
  orderLines: readonly OrderLineTable[],
): Promise<OrderAdjustmentTable[]> {
  // A checkout snapshot written before adjustments were kept may lack the field.
  const adjustments = cart.adjustments ?? []
  if (adjustments.length === 0) return []
  const orderLineOf = new Map(cart.lines.map((line, position) => [line.id, orderLines.find((l) => l.position === position)!.id]))
  const applied = applyAdjustments(cart.lines, adjustments, cart.totals.shippingTotal)
  const rows: OrderAdjustmentTable[] = []
  applied.adjustments.forEach((parts, position) => {
    const adjustment = adjustments[position]!
    const row = (lineId: string | null, amount: number): OrderAdjustmentTable => ({
      id: rt.ids('oadj'),
      order_id: orderId,
      line_id: lineId,
      target: lineId === null ? 'shipping' : 'lines',
      code: adjustment.code,
      label: adjustment.label,
      source: adjustment.source ?? adjustment.code,
      amount,
      position,
    })
    for (const part of parts.lines) if (part.amount > 0) rows.push(row(orderLineOf.get(part.lineId)!, part.amount))
    if (parts.shipping > 0) rows.push(row(null, parts.shipping))
  })
  if (rows.length > 0) await insertAdjustments.execute(tx, { rows })
  return rows
}
