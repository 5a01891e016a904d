import type { Commerce, PaymentDetails } from '@cartwright/core'
import type { SimulationInvariant } from './types.js'

/**
 * What the harness's subscriber saw, kept outside the engine (it survives restarts, as another
 * system's database would): deliveries per event id, and the effect of each event applied once.
 */
/** The id of the harness's own durable subscriber. */
export const AUDIT_SUBSCRIBER = 'simulation.audit'

export interface Audit {
  deliveries: Map<string, number>
  effects: Map<string, { type: string; payload: unknown }>
}

async function allPayments(commerce: Commerce): Promise<PaymentDetails[]> {
  const payments: PaymentDetails[] = []
  let cursor: string | undefined
  do {
    const page = await commerce.payments.list({ limit: 100, ...(cursor ? { cursor } : {}) })
    payments.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return payments
}

interface BookedPayment {
  id: string
  status: string
  authorized: number
  captured: number
  refunded: number
}

/** The provider's payments in the books, by gateway reference (null: none yet). A late approval may add a second row for one charge. */
async function byReference(commerce: Commerce, provider: string): Promise<Map<string | null, BookedPayment[]>> {
  const rows = await commerce.db
    .selectFrom('cw_payments')
    .select(['id', 'reference', 'status', 'authorized_amount', 'captured_amount', 'refunded_amount'])
    .where('provider', '=', provider)
    .orderBy('id')
    .execute()
  const groups = new Map<string | null, BookedPayment[]>()
  for (const r of rows) {
    const list = groups.get(r.reference) ?? []
    list.push({ id: r.id, status: r.status, authorized: Number(r.authorized_amount), captured: Number(r.captured_amount), refunded: Number(r.refunded_amount) })
    groups.set(r.reference, list)
  }
  return groups
}

const sumBy = <T>(rows: readonly T[], key: (row: T) => string, amount: (row: T) => number) => {
  const sums = new Map<string, number>()
  for (const row of rows) sums.set(key(row), (sums.get(key(row)) ?? 0) + amount(row))
  return sums
}

/**
 * The harness's own invariants, in the order they are checked.
 * @internal
 */
export function coreInvariants(audit: Audit): SimulationInvariant[] {
  return [
    {
      name: 'available = on hand − reserved ≥ −backorder allowance',
      async check({ commerce }) {
        const levels = await commerce.db.selectFrom('cw_inventory_levels').select(['id', 'variant_id', 'location_id', 'on_hand', 'reserved', 'backorder_allowance']).execute()
        // A level holding a backorder or preorder allowance may go below zero by it, never past it.
        return levels
          .filter((l) => l.reserved < 0 || l.on_hand - l.reserved < -(l.backorder_allowance ?? 0))
          .map((l) => `level ${l.id} (variant ${l.variant_id} at ${l.location_id}): on hand ${l.on_hand}, reserved ${l.reserved}, available ${l.on_hand - l.reserved}`)
      },
    },
    {
      name: 'reserved = Σ held reservations',
      async check({ commerce }) {
        const levels = await commerce.db.selectFrom('cw_inventory_levels').select(['id', 'reserved']).execute()
        const held = await commerce.db.selectFrom('cw_reservations').select(['level_id', 'quantity']).where('status', '=', 'held').execute()
        const sums = sumBy(held, (r) => r.level_id, (r) => Number(r.quantity))
        return levels.filter((l) => Number(l.reserved) !== (sums.get(l.id) ?? 0)).map((l) => `level ${l.id}: reserved ${l.reserved}, held reservations sum to ${sums.get(l.id) ?? 0}`)
      },
    },
    {
      name: 'at most one order per cart',
      async check({ commerce }) {
        const orders = await commerce.db.selectFrom('cw_orders').select(['id', 'cart_id']).execute()
        const byCart = sumBy(orders, (o) => o.cart_id, () => 1)
        const problems = [...byCart].filter(([, n]) => n > 1).map(([cart, n]) => `cart ${cart} has ${n} orders`)
        const carts = await commerce.db.selectFrom('cw_carts').select(['id', 'status', 'order_id']).where('status', '=', 'completed').execute()
        const orderOf = new Map(orders.map((o) => [o.cart_id, o.id]))
        for (const cart of carts) if (orderOf.get(cart.id) !== cart.order_id) problems.push(`cart ${cart.id} is completed with order ${cart.order_id}, but its order is ${orderOf.get(cart.id) ?? 'missing'}`)
        return problems
      },
    },
    {
      name: "an order's lines equal the cart it was placed from",
      async check({ commerce }) {
        const problems: string[] = []
        const lines = await commerce.db.selectFrom('cw_order_lines as l').innerJoin('cw_orders as o', 'o.id', 'l.order_id').select(['o.id as order_id', 'o.cart_id', 'l.variant_id', 'l.quantity', 'l.unit_price']).execute()
        const cartLines = await commerce.db
          .selectFrom('cw_cart_lines as l')
          .innerJoin('cw_orders as o', 'o.cart_id', 'l.cart_id')
          .select(['o.id as order_id', 'l.variant_id', 'l.quantity'])
          .execute()
        const snapshots = await commerce.db.selectFrom('cw_carts as c').innerJoin('cw_orders as o', 'o.cart_id', 'c.id').select(['o.id as order_id', 'c.checkout']).execute()
        const ordered = sumBy(lines, (l) => `${l.order_id} ${l.variant_id}`, (l) => Number(l.quantity))
        const inCart = sumBy(cartLines, (l) => `${l.order_id} ${l.variant_id}`, (l) => Number(l.quantity))
        for (const [key, quantity] of ordered) if (inCart.get(key) !== quantity) problems.push(`order ${key.replace(' ', ', variant ')}: ${quantity} ordered, ${inCart.get(key) ?? 0} in its cart`)
        for (const [key, quantity] of inCart) if (!ordered.has(key)) problems.push(`order ${key.replace(' ', ', variant ')}: ${quantity} in its cart, none ordered`)
        const prices = new Map<string, number>()
        for (const s of snapshots) {
          const snapshot = s.checkout ? (JSON.parse(s.checkout) as { lines?: Array<{ variantId: string; unitPrice: number }> }) : null
          for (const line of snapshot?.lines ?? []) prices.set(`${s.order_id} ${line.variantId}`, line.unitPrice)
        }
        for (const l of lines) {
          const price = prices.get(`${l.order_id} ${l.variant_id}`)
          if (price !== undefined && price !== Number(l.unit_price)) problems.push(`order ${l.order_id}, variant ${l.variant_id}: unit price ${l.unit_price}, the checkout's snapshot says ${price}`)
        }
        return problems
      },
    },
    {
      name: 'refunded ≤ captured ≤ authorized, each the sum of its operations',
      async check({ commerce }) {
        const problems: string[] = []
        const payments = await commerce.db.selectFrom('cw_payments').select(['id', 'authorized_amount', 'captured_amount', 'refunded_amount']).execute()
        const operations = await commerce.db.selectFrom('cw_payment_operations').select(['payment_id', 'kind', 'amount']).where('status', '=', 'succeeded').execute()
        const sums = sumBy(operations, (o) => `${o.payment_id} ${o.kind}`, (o) => Number(o.amount))
        for (const p of payments) {
          const [authorized, captured, refunded] = [Number(p.authorized_amount), Number(p.captured_amount), Number(p.refunded_amount)]
          if (!(0 <= refunded && refunded <= captured && captured <= authorized)) problems.push(`payment ${p.id}: refunded ${refunded}, captured ${captured}, authorized ${authorized}`)
          const capturedOps = sums.get(`${p.id} capture`) ?? 0
          const refundedOps = sums.get(`${p.id} refund`) ?? 0
          // A capture made with the authorization (a tender) has no operation row.
          if (capturedOps > captured) problems.push(`payment ${p.id}: succeeded captures sum to ${capturedOps}, captured is ${captured}`)
          if (refundedOps !== refunded) problems.push(`payment ${p.id}: succeeded refunds sum to ${refundedOps}, refunded is ${refunded}`)
        }
        return problems
      },
    },
    {
      name: 'the books never record money the gateway does not have',
      async check({ commerce, gateway }) {
        const problems: string[] = []
        for (const [reference, rows] of await byReference(commerce, gateway.id)) {
          const charge = reference === null ? undefined : gateway.charges().find((c) => c.reference === reference)
          const captured = rows.reduce((s, r) => s + r.captured, 0)
          const refunded = rows.reduce((s, r) => s + r.refunded, 0)
          const authorized = rows.reduce((s, r) => s + r.authorized, 0)
          const what = `payment${rows.length > 1 ? 's' : ''} ${rows.map((r) => r.id).join(', ')}`
          if (!charge) {
            if (authorized + captured + refunded > 0) problems.push(`${what}: authorized ${authorized}, but the gateway has no charge ${reference ?? '(no reference)'}`)
            continue
          }
          if (captured > charge.captured) problems.push(`${what}: captured ${captured}, the gateway captured ${charge.captured} on ${reference}`)
          if (refunded > charge.refunded) problems.push(`${what}: refunded ${refunded}, the gateway refunded ${charge.refunded} on ${reference}`)
          if (authorized > charge.authorized) problems.push(`${what}: authorized ${authorized}, the gateway authorized ${charge.authorized} on ${reference}`)
        }
        return problems
      },
    },
    {
      name: 'placed orders hold their stock',
      async check({ commerce }) {
        const lines = await commerce.db
          .selectFrom('cw_order_lines as l')
          .innerJoin('cw_orders as o', 'o.id', 'l.order_id')
          .innerJoin('cw_variants as v', 'v.id', 'l.variant_id')
          .select(['o.id as order_id', 'l.variant_id', 'l.quantity'])
          .where('o.status', '=', 'placed')
          .where('o.fulfillment_status', '=', 'unfulfilled')
          .where('v.manage_inventory', '=', 1)
          .execute()
        const held = await commerce.db.selectFrom('cw_reservations').select(['order_id', 'variant_id', 'quantity', 'status', 'cart_id']).where('status', '=', 'held').execute()
        const wanted = sumBy(lines, (l) => `${l.order_id} ${l.variant_id}`, (l) => Number(l.quantity))
        const reserved = sumBy(
          held.filter((r) => r.order_id !== null),
          (r) => `${r.order_id} ${r.variant_id}`,
          (r) => Number(r.quantity),
        )
        const problems: string[] = []
        for (const [key, quantity] of wanted) if ((reserved.get(key) ?? 0) !== quantity) problems.push(`order ${key.replace(' ', ', variant ')}: ${quantity} ordered, ${reserved.get(key) ?? 0} reserved`)
        const live = new Set(lines.map((l) => l.order_id))
        for (const r of held) if (r.order_id !== null && !live.has(r.order_id)) problems.push(`order ${r.order_id} is no longer waiting to ship, but ${r.quantity} of variant ${r.variant_id} stay reserved for it`)
        return problems
      },
    },
    {
      // What a capture that ignored a lost race with a cancel does: real at the gateway and in the
      // books alike, so only the order of things shows it. Events are read in the order they were
      // written: their deliveries to the harness's subscriber are numbered as they are recorded, in
      // the transaction that did what they announce.
      name: 'a canceled order captures nothing after its cancel',
      async check({ commerce }) {
        const events = await commerce.db
          .selectFrom('cw_outbox as e')
          .innerJoin('cw_outbox_deliveries as d', 'd.event_id', 'e.id')
          .select(['e.id', 'e.type', 'e.payload'])
          .where('d.subscriber', '=', AUDIT_SUBSCRIBER)
          .where('e.type', 'in', ['order.canceled', 'payment.captured'])
          .orderBy('d.id')
          .execute()
        const canceled = new Set<string>()
        const problems: string[] = []
        for (const e of events) {
          const payload = JSON.parse(e.payload) as { orderId?: string; payment?: { id: string; orderId: string | null }; amount?: number }
          if (e.type === 'order.canceled') canceled.add(payload.orderId!)
          else if (payload.payment?.orderId && canceled.has(payload.payment.orderId)) {
            problems.push(`payment ${payload.payment.id}: ${payload.amount} captured after order ${payload.payment.orderId} was canceled (event ${e.id})`)
          }
        }
        return problems
      },
    },
    {
      name: "the books equal the gateway's ledger",
      when: 'settled',
      async check({ commerce, gateway }) {
        const problems: string[] = []
        const groups = await byReference(commerce, gateway.id)
        for (const [reference, rows] of groups) {
          const what = `payment${rows.length > 1 ? 's' : ''} ${rows.map((r) => r.id).join(', ')}`
          const charge = reference === null ? undefined : gateway.charges().find((c) => c.reference === reference)
          const sum = (key: 'authorized' | 'captured' | 'refunded') => rows.reduce((s, r) => s + r[key], 0)
          if (!charge) {
            if (sum('authorized') + sum('captured') + sum('refunded') > 0) problems.push(`${what}: authorized ${sum('authorized')}, but the gateway has no charge ${reference ?? '(no reference)'}`)
            continue
          }
          for (const key of ['authorized', 'captured', 'refunded'] as const) {
            if (sum(key) !== charge[key]) problems.push(`${what}: ${key} ${sum(key)}, the gateway ${key} ${charge[key]} on ${reference}`)
          }
          // Where money was held, a void at the gateway is a void in the books, and the other way round.
          const holding = rows.filter((r) => r.authorized > 0)
          if (holding.length > 0 && charge.captured === 0 && charge.voided !== holding.every((r) => r.status === 'voided')) {
            problems.push(`${what}: ${holding.map((r) => r.status).join(', ')}, the gateway voided=${charge.voided} on ${reference}`)
          }
          if (!rows.some((r) => r.id === charge.paymentId)) problems.push(`gateway charge ${reference} is for payment ${charge.paymentId}, which has another reference in the books`)
        }
        const known = new Set([...groups.keys()])
        for (const charge of gateway.charges()) {
          if (!known.has(charge.reference) && charge.authorized > 0) problems.push(`gateway charge ${charge.reference} holds ${charge.authorized} for payment ${charge.paymentId}, and no payment in the books has that reference`)
        }
        for (const payment of await allPayments(commerce)) {
          if (payment.provider !== gateway.id) continue
          const sumOf = (kind: string) => payment.operations.filter((o) => o.kind === kind && o.status === 'succeeded').reduce((s, o) => s + o.amount, 0)
          if (sumOf('capture') !== payment.capturedAmount) problems.push(`payment ${payment.id}: succeeded captures sum to ${sumOf('capture')}, captured is ${payment.capturedAmount}`)
          if (sumOf('refund') !== payment.refundedAmount) problems.push(`payment ${payment.id}: succeeded refunds sum to ${sumOf('refund')}, refunded is ${payment.refundedAmount}`)
        }
        return problems
      },
    },
    {
      name: 'no money held without an order',
      when: 'settled',
      async check({ commerce, gateway }) {
        const problems: string[] = []
        const rows = await commerce.db
          .selectFrom('cw_payments as p')
          .leftJoin('cw_orders as o', 'o.id', 'p.order_id')
          .select(['p.id', 'p.reference', 'p.order_id', 'o.status as order_status'])
          .where('p.provider', '=', gateway.id)
          .execute()
        for (const charge of gateway.charges()) {
          const holds = !charge.voided && charge.authorized > 0 && !(charge.captured > 0 && charge.captured === charge.refunded)
          if (!holds) continue
          const held = charge.captured > 0 ? charge.captured - charge.refunded : charge.authorized
          const payments = rows.filter((r) => r.reference === charge.reference)
          const orders = payments.filter((p) => p.order_id !== null)
          if (orders.length === 0) problems.push(`gateway charge ${charge.reference} (payment ${charge.paymentId}) holds ${held}, and no order has it`)
          else if (orders.every((p) => p.order_status === 'canceled')) problems.push(`gateway charge ${charge.reference} holds ${held} for order ${orders[0]!.order_id}, which is canceled`)
        }
        return problems
      },
    },
    {
      name: 'no reservation without a live cart or order',
      when: 'settled',
      async check({ commerce }) {
        const held = await commerce.db
          .selectFrom('cw_reservations as r')
          .leftJoin('cw_orders as o', 'o.id', 'r.order_id')
          .innerJoin('cw_carts as c', 'c.id', 'r.cart_id')
          .select(['r.id', 'r.cart_id', 'r.order_id', 'r.quantity', 'o.status as order_status', 'o.fulfillment_status', 'c.status as cart_status'])
          .where('r.status', '=', 'held')
          .execute()
        return held
          .filter((r) => !(r.order_id !== null && r.order_status === 'placed' && r.fulfillment_status === 'unfulfilled'))
          .map((r) => `reservation ${r.id} of ${r.quantity} is held for cart ${r.cart_id} (${r.cart_status}) and order ${r.order_id ?? 'none'} (${r.order_status ?? '-'})`)
      },
    },
    {
      name: 'nothing left pending past its lease',
      when: 'settled',
      async check({ commerce }) {
        const payments = await commerce.db.selectFrom('cw_payments').select(['id', 'status', 'lease_until']).where('status', 'in', ['pending', 'requires_action']).execute()
        const operations = await commerce.db.selectFrom('cw_payment_operations').select(['id', 'kind', 'payment_id']).where('status', '=', 'pending').execute()
        const carts = await commerce.db.selectFrom('cw_carts').select('id').where('status', '=', 'completing').execute()
        return [
          ...payments.map((p) => `payment ${p.id} is still ${p.status} (lease until ${p.lease_until ?? 'none'})`),
          ...operations.map((o) => `${o.kind} ${o.id} of payment ${o.payment_id} is still pending`),
          ...carts.map((c) => `cart ${c.id} is still completing`),
        ]
      },
    },
    {
      name: 'every event delivered exactly once to a subscriber that dedups',
      when: 'settled',
      async check({ commerce }) {
        const problems: string[] = []
        const events = await commerce.db.selectFrom('cw_outbox').select(['id', 'type']).execute()
        const stored = new Set(events.map((e) => e.id))
        for (const e of events) if (!audit.effects.has(e.id)) problems.push(`event ${e.id} (${e.type}) was never delivered`)
        for (const [id, effect] of audit.effects) if (!stored.has(id)) problems.push(`event ${id} (${effect.type}) was delivered but is not in the outbox`)
        const undelivered = await commerce.db.selectFrom('cw_outbox_deliveries').select(['event_id', 'status']).where('status', '<>', 'delivered').execute()
        for (const d of undelivered) problems.push(`delivery of ${d.event_id} is ${d.status}`)
        return problems
      },
    },
    {
      name: 'the events tell what the books say',
      when: 'settled',
      async check({ commerce }) {
        const problems: string[] = []
        const placed = new Map<string, number>()
        const captured = new Map<string, number>()
        const refunded = new Map<string, number>()
        for (const { type, payload } of audit.effects.values()) {
          const p = payload as { order?: { id: string }; payment?: { id: string }; amount?: number }
          if (type === 'order.placed') placed.set(p.order!.id, (placed.get(p.order!.id) ?? 0) + 1)
          if (type === 'payment.captured') captured.set(p.payment!.id, (captured.get(p.payment!.id) ?? 0) + p.amount!)
          if (type === 'payment.refunded') refunded.set(p.payment!.id, (refunded.get(p.payment!.id) ?? 0) + p.amount!)
        }
        const orders = await commerce.db.selectFrom('cw_orders').select('id').execute()
        for (const o of orders) if ((placed.get(o.id) ?? 0) !== 1) problems.push(`order ${o.id}: ${placed.get(o.id) ?? 0} order.placed events`)
        const ids = new Set(orders.map((o) => o.id))
        for (const id of placed.keys()) if (!ids.has(id)) problems.push(`order.placed for ${id}, an order that does not exist`)
        const payments = await commerce.db.selectFrom('cw_payments').select(['id', 'kind', 'captured_amount', 'refunded_amount']).execute()
        for (const p of payments) {
          if (p.kind === 'gateway' && (captured.get(p.id) ?? 0) !== Number(p.captured_amount)) problems.push(`payment ${p.id}: payment.captured events add up to ${captured.get(p.id) ?? 0}, captured is ${p.captured_amount}`)
          if ((refunded.get(p.id) ?? 0) !== Number(p.refunded_amount)) problems.push(`payment ${p.id}: payment.refunded events add up to ${refunded.get(p.id) ?? 0}, refunded is ${p.refunded_amount}`)
        }
        return problems
      },
    },
  ]
}
