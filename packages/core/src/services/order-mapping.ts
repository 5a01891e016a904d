import type { Executor, OrderAdjustmentTable, OrderLineTable, OrderTable, PaymentOperationTable, PaymentTable } from '../db/database.js'
import { iso, isoOrNull, parseJson } from '../db/rows.js'
import type { AdjustmentTarget, Order, OrderAdjustment, OrderLine, Payment, PaymentDetails, PaymentDispute, PaymentOperation, PaymentOperationKind, PaymentOperationStatus, PaymentStatus, PriceOverride, ShippingMethod, TaxLine, Totals } from '../types.js'
import type { Address } from '../validation.js'
import { toOrderHold } from './order-holds.js'

export function toPayment(row: PaymentTable): Payment {
  return {
    id: row.id,
    cartId: row.cart_id,
    orderId: row.order_id,
    kind: row.kind ?? 'gateway',
    provider: row.provider,
    status: row.status as PaymentStatus,
    currency: row.currency,
    amount: row.amount,
    authorizedAmount: row.authorized_amount,
    capturedAmount: row.captured_amount,
    refundedAmount: row.refunded_amount,
    reference: row.reference,
    failure: row.failure,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

export function toPaymentOperation(row: PaymentOperationTable): PaymentOperation {
  return {
    id: row.id,
    paymentId: row.payment_id,
    orderId: row.order_id,
    kind: row.kind as PaymentOperationKind,
    amount: row.amount,
    status: row.status as PaymentOperationStatus,
    idempotencyKey: row.idempotency_key,
    gatewayKey: row.gateway_key,
    reason: row.reason,
    reference: row.reference,
    failure: row.failure,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

/** @internal Payments with their operations, oldest first. */
export async function loadPaymentDetails(db: Executor, payments: PaymentTable[]): Promise<PaymentDetails[]> {
  if (payments.length === 0) return []
  const ops = await db
    .selectFrom('cw_payment_operations')
    .selectAll()
    .where('payment_id', 'in', payments.map((p) => p.id))
    .orderBy('created_at')
    .orderBy('id')
    .execute()
  return payments.map((p) => ({
    ...toPayment(p),
    operations: ops.filter((o) => o.payment_id === p.id).map(toPaymentOperation),
    dispute: parseJson<PaymentDispute | null>(p.dispute ?? null, null),
  }))
}

/** A line's convention, class, tax lines and amounts without and with tax; a line placed before 0016 reads as tax-exclusive. */
function lineTaxViews(row: OrderLineTable): Pick<OrderLine, 'taxInclusive' | 'taxClass' | 'taxLines' | 'net' | 'gross'> {
  const netSubtotal = row.net_subtotal ?? row.subtotal
  const netDiscount = row.net_discount_total ?? row.discount_total
  const grossSubtotal = row.gross_subtotal ?? row.subtotal + row.tax_total
  const grossDiscount = row.gross_discount_total ?? row.discount_total
  return {
    taxInclusive: Number(row.tax_inclusive ?? 0) === 1,
    taxClass: row.tax_class ?? null,
    taxLines: parseJson<TaxLine[]>(row.tax_lines ?? null, []),
    net: { subtotal: netSubtotal, discountTotal: netDiscount, total: row.total - row.tax_total },
    gross: { subtotal: grossSubtotal, discountTotal: grossDiscount, total: row.total },
  }
}

/** An order's totals: its columns are without tax, its gross columns with it (see migration 0016). */
function orderTotals(row: OrderTable): Totals {
  const rounding = row.rounding_total ?? 0
  const net = { subtotal: row.subtotal, discountTotal: row.discount_total, shippingTotal: row.shipping_total }
  const gross =
    row.gross_subtotal === null || row.gross_subtotal === undefined
      ? { subtotal: row.subtotal + row.tax_total, discountTotal: row.discount_total, shippingTotal: row.shipping_total }
      : { subtotal: row.gross_subtotal, discountTotal: row.gross_discount_total ?? 0, shippingTotal: row.gross_shipping_total ?? 0 }
  const taxInclusive = Number(row.tax_inclusive ?? 0) === 1
  return { ...(taxInclusive ? gross : net), taxTotal: row.tax_total, rounding, total: row.total + rounding, taxInclusive, net, gross }
}

function toLine(row: OrderLineTable): OrderLine {
  return {
    id: row.id,
    variantId: row.variant_id,
    productId: row.product_id,
    sku: row.sku,
    title: row.title,
    variantTitle: row.variant_title,
    quantity: row.quantity,
    unitPrice: row.unit_price,
    subtotal: row.subtotal,
    discountTotal: row.discount_total,
    taxTotal: row.tax_total,
    total: row.total,
    ...lineTaxViews(row),
    beyondStock: row.beyond_stock
      ? { policy: row.stock_policy === 'preorder' ? 'preorder' : 'backorder', quantity: row.beyond_stock, availableAt: isoOrNull(row.available_at ?? null) }
      : null,
    ...(row.price_override ? { priceOverride: parseJson<PriceOverride>(row.price_override, null as never) } : {}),
  }
}

function toAdjustment(row: OrderAdjustmentTable): OrderAdjustment {
  return {
    id: row.id,
    lineId: row.line_id,
    target: row.target as AdjustmentTarget,
    code: row.code,
    label: row.label,
    source: row.source,
    amount: row.amount,
    position: row.position,
  }
}

/**
 * An order from its rows. `lines`, `payments` and `adjustments` may hold other orders' rows too;
 * adjustments come in the order they were applied, then in the order of the lines.
 */
export function toOrder(row: OrderTable, lines: OrderLineTable[], payments: PaymentTable[], adjustments: readonly OrderAdjustmentTable[] = []): Order {
  const own = lines.filter((l) => l.order_id === row.id).sort((a, b) => a.position - b.position)
  const linePosition = new Map(own.map((l) => [l.id, l.position]))
  // Shipping (no line) after the lines, within one adjustment.
  const place = (a: OrderAdjustmentTable) => (a.line_id === null ? Number.MAX_SAFE_INTEGER : (linePosition.get(a.line_id) ?? 0))
  return {
    id: row.id,
    number: row.number,
    cartId: row.cart_id,
    currency: row.currency,
    status: row.status as Order['status'],
    paymentStatus: row.payment_status as Order['paymentStatus'],
    fulfillmentStatus: row.fulfillment_status as Order['fulfillmentStatus'],
    email: row.email,
    customerId: row.customer_id,
    channelId: row.channel_id ?? null,
    shippingAddress: parseJson<Address | null>(row.shipping_address, null),
    billingAddress: parseJson<Address | null>(row.billing_address, null),
    shippingMethod: parseJson<ShippingMethod | null>(row.shipping_method, null),
    shippingTaxLines: parseJson<TaxLine[]>(row.shipping_tax_lines ?? null, []),
    lines: own.map(toLine),
    adjustments: adjustments
      .filter((a) => a.order_id === row.id)
      .sort((a, b) => a.position - b.position || place(a) - place(b))
      .map(toAdjustment),
    totals: orderTotals(row),
    payments: payments.filter((p) => p.order_id === row.id).map(toPayment),
    hold: toOrderHold(row),
    metadata: parseJson<Record<string, unknown>>(row.metadata, {}),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    canceledAt: isoOrNull(row.canceled_at),
  }
}

/** @internal Loads orders with their lines, payments and adjustments. */
export async function loadOrders(db: Executor, rows: OrderTable[]): Promise<Order[]> {
  if (rows.length === 0) return []
  const ids = rows.map((r) => r.id)
  const lines = await db.selectFrom('cw_order_lines').selectAll().where('order_id', 'in', ids).execute()
  const payments = await db.selectFrom('cw_payments').selectAll().where('order_id', 'in', ids).orderBy('created_at').execute()
  const adjustments = await db.selectFrom('cw_order_adjustments').selectAll().where('order_id', 'in', ids).execute()
  return rows.map((r) => toOrder(r, lines, payments, adjustments))
}

/** @internal Loads one order by id. */
export async function loadOrder(db: Executor, orderId: string): Promise<Order | null> {
  const row = await db.selectFrom('cw_orders').selectAll().where('id', '=', orderId).executeTakeFirst()
  return row ? ((await loadOrders(db, [row]))[0] ?? null) : null
}
