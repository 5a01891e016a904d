/**
 * "Raw pg floor B": the 7-step storefront checkout of the SQLite floor B, hand-written for
 * PostgreSQL with `pg` and nothing else, on the schema the engine's migrations made.
 *
 * Written the way a careful hand-written implementation would: on PostgreSQL round trips
 * dominate, so every step that writes is ONE statement (data-modifying CTEs, RETURNING), sent
 * as a named prepared statement and committed on its own (autocommit). A step is therefore
 * all-or-nothing without BEGIN/COMMIT round trips, and the hot inventory row is locked only
 * from its conditional UPDATE to the commit of that same statement.
 *
 *   1. create the cart                                   1 statement
 *   2. add the item (cart open, variant for sale, stock)  1 statement
 *   3. email + address                                   1 statement
 *   4. shipping option                                   1 statement
 *   5. reserve stock + pending payment, cart completing  1 read (outside, like the engine's
 *                                                        pricing) + 1 statement, which also
 *                                                        checks the cart version it priced
 *   6. authorize                                         in memory, no I/O
 *   7. place order + line + outbox rows, cart completed  1 statement
 *
 * 7 round trips, 6 commits per checkout, and the same rows as the engine: 1 cart, 1 line,
 * 1 reservation, 1 payment, 1 order, 1 order line and 6 outbox events (`cart.created`,
 * `cart.item_added`, 2 × `cart.updated`, `payment.authorized`, `order.placed` with the
 * whole order as payload).
 */
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { SEED, totalsFor } from './shop.js'

const id = (prefix: string) => `${prefix}_${randomUUID()}`

const shippingMethod = { id: SEED.shippingOptionId, provider: 'flat', name: 'Standard', amount: SEED.shipping }
const shippingMethodJson = JSON.stringify(shippingMethod)
const addressJson = JSON.stringify(SEED.address)
const LEASE_MS = 30_000

/** The in-memory "gateway" of the floor: approves everything, no I/O. */
let gatewaySequence = 0
const authorize = (paymentId: string) => ({ status: 'authorized' as const, reference: `tp_${++gatewaySequence}_${paymentId}` })

// 1. A cart and its `cart.created` event.
const CREATE_CART = `
with cart as (
  insert into cw_carts (id, currency, status, version, created_at, updated_at)
  values ($1, $2, 'open', 0, $3, $3)
  returning id
)
insert into cw_outbox (id, type, payload, created_at)
select $4, 'cart.created', $5, $3::timestamptz from cart`

// 2. The line, if the cart is open (locked), the variant active with a price in the cart's
//    currency, and enough stock across locations; then the cart's version and the event.
const ADD_ITEM = `
with cart as (
  select c.id from cw_carts c
   where c.id = $1 and c.status = 'open'
     and exists (select 1 from cw_variants v
                   join cw_products p on p.id = v.product_id
                   join cw_prices pr on pr.variant_id = v.id and pr.currency = c.currency and pr.min_quantity <= $3::int
                  where v.id = $2 and p.status = 'active')
     and (select coalesce(sum(on_hand - reserved), 0) from cw_inventory_levels where variant_id = $2) >= $3::int
     for update of c
),
line as (
  insert into cw_cart_lines (id, cart_id, variant_id, quantity, created_at)
  select $4, id, $2, $3::int, $5::timestamptz from cart
  returning cart_id
),
touched as (
  update cw_carts set version = version + 1, updated_at = $5::timestamptz
   where id = (select cart_id from line)
  returning id
)
insert into cw_outbox (id, type, payload, created_at)
select $6, 'cart.item_added', $7, $5::timestamptz from touched`

// 3. Email and shipping address of an open cart.
const SET_CONTACT = `
with cart as (
  update cw_carts set email = $2, shipping_address = $3, version = version + 1, updated_at = $4::timestamptz
   where id = $1 and status = 'open'
  returning id
)
insert into cw_outbox (id, type, payload, created_at)
select $5, 'cart.updated', $6, $4::timestamptz from cart`

// 4. The shipping option of an open cart.
const SET_SHIPPING = `
with cart as (
  update cw_carts set shipping_option_id = $2, version = version + 1, updated_at = $3::timestamptz
   where id = $1 and status = 'open'
  returning id
)
insert into cw_outbox (id, type, payload, created_at)
select $4, 'cart.updated', $5, $3::timestamptz from cart`

// 5a. Read the cart and its lines with their current unit price (outside any transaction,
//     as the engine prices a cart before its write transaction).
const READ_CART = `
select c.status, c.version, c.email, c.shipping_option_id, c.currency,
       l.id as line_id, l.quantity, v.id, v.product_id, v.sku, v.title as variant_title,
       p.title, p.status as product_status, pr.amount
  from cw_carts c
  join cw_cart_lines l on l.cart_id = c.id
  join cw_variants v on v.id = l.variant_id
  join cw_products p on p.id = v.product_id
  left join lateral (
    select amount from cw_prices
     where variant_id = v.id and currency = c.currency and min_quantity <= l.quantity
     order by min_quantity desc limit 1
  ) pr on true
 where c.id = $1
 order by l.created_at, l.id`

// 5b. All or nothing, in one statement: lock the cart if it is still open at the version that
//     was priced; reserve with a conditional UPDATE (re-checked on the latest row version if
//     another checkout changed it meanwhile); record the reservation and the pending payment
//     with its lease; mark the cart completing. No stock, or a changed cart: nothing is written.
const RESERVE = `
with cart as (
  select id from cw_carts where id = $1 and status = 'open' and version = $2::int for update
),
level as (
  update cw_inventory_levels set reserved = reserved + $3::int, updated_at = $4::timestamptz
   where id = (select id from cw_inventory_levels
                where variant_id = $5 and on_hand - reserved >= $3::int
                order by id limit 1)
     and on_hand - reserved >= $3::int
     and exists (select 1 from cart)
  returning id, location_id
),
reservation as (
  insert into cw_reservations (id, variant_id, location_id, level_id, quantity, cart_id, order_id, status, created_at)
  select $6, $5, location_id, id, $3::int, $1, null, 'held', $4::timestamptz from level
),
payment as (
  insert into cw_payments (id, cart_id, order_id, provider, idempotency_key, status, currency, amount, authorized_amount,
                           captured_amount, refunded_amount, reference, failure, lease_until, data, created_at, updated_at)
  select $7, $1, null, 'test', $8, 'pending', $9, $10::bigint, 0, 0, 0, null, null, $11::timestamptz, '{}', $4::timestamptz, $4::timestamptz
    from level
),
completing as (
  update cw_carts set status = 'completing', checkout = $12, updated_at = $4::timestamptz
   where id = (select id from cart) and exists (select 1 from level)
  returning id
)
select count(*)::int as reserved from completing`

// 7. Only if the payment is still pending: settle it, insert the order (its number from the
//    sequence) and its line, attach the reservation, complete the cart, and write the two
//    events; the order.placed payload gets the number the sequence gave.
const PLACE_ORDER = `
with payment as (
  update cw_payments set order_id = $1, status = 'authorized', authorized_amount = amount, reference = $3,
                         lease_until = null, updated_at = $4::timestamptz
   where id = $2 and status = 'pending'
  returning id
),
ord as (
  insert into cw_orders (id, number, cart_id, currency, status, payment_status, fulfillment_status, email, customer_id,
                         shipping_address, billing_address, shipping_method, subtotal, discount_total, shipping_total,
                         tax_total, total, metadata, created_at, updated_at, canceled_at)
  select $1, nextval('cw_order_number_seq'), $5, $6, 'placed', 'authorized', 'unfulfilled', $7, null,
         $8, $8, $9, $10::bigint, 0, $11::bigint, $12::bigint, $13::bigint, null, $4::timestamptz, $4::timestamptz, null
    from payment
  returning id, number
),
line as (
  insert into cw_order_lines (id, order_id, variant_id, product_id, sku, title, variant_title, quantity, unit_price,
                              subtotal, discount_total, tax_total, total, position)
  select $14, id, $15, $16, $17, $18, $19, $20::int, $21::bigint, $10::bigint, 0, $22::bigint, $23::bigint, 0 from ord
),
reservations as (
  update cw_reservations set order_id = $1 where cart_id = $5 and status = 'held' and exists (select 1 from ord)
),
cart as (
  update cw_carts set status = 'completed', order_id = $1, updated_at = $4::timestamptz
   where id = $5 and exists (select 1 from ord)
),
events as (
  insert into cw_outbox (id, type, payload, created_at)
  select $24, 'payment.authorized', $25, $4::timestamptz from ord
  union all
  select $26, 'order.placed', jsonb_set($27::jsonb, '{order,number}', to_jsonb(number))::text, $4::timestamptz from ord
)
select number from ord`

interface CartLineRow {
  status: string
  version: number
  email: string | null
  shipping_option_id: string | null
  currency: string
  line_id: string
  quantity: number
  id: string
  product_id: string
  sku: string
  variant_title: string
  title: string
  product_status: string
  amount: string | number | null
}

/** The floor on its own pg pool. `checkout()` runs one shopper's 7 steps and returns the order total. */
export function rawFloorB(connectionString: string, poolMax: number, variantId: string) {
  const pool = new pg.Pool({ connectionString, max: poolMax })
  pool.on('error', () => undefined)
  const run = async (name: string, text: string, values: unknown[]) => pool.query({ name, text, values })
  const one = async (name: string, text: string, values: unknown[], what: string) => {
    const { rowCount } = await run(name, text, values)
    if (rowCount !== 1) throw new Error(`floor B: ${what} changed nothing`)
  }

  async function checkout(): Promise<number> {
    // 1. create cart
    let now = new Date().toISOString()
    const cartId = id('cart')
    await one('floor_create_cart', CREATE_CART, [cartId, SEED.currency, now, id('evt'), JSON.stringify({ cartId, currency: SEED.currency })], 'create cart')
    // 2. add item
    now = new Date().toISOString()
    await one('floor_add_item', ADD_ITEM, [cartId, variantId, 1, id('line'), now, id('evt'), JSON.stringify({ cartId, variantId, quantity: 1 })], 'add item (cart not open, not for sale, or out of stock)')
    // 3. email + address
    now = new Date().toISOString()
    await one('floor_set_contact', SET_CONTACT, [cartId, SEED.email, addressJson, now, id('evt'), JSON.stringify({ cartId })], 'set email/address (cart not open)')
    // 4. shipping option
    now = new Date().toISOString()
    await one('floor_set_shipping', SET_SHIPPING, [cartId, SEED.shippingOptionId, now, id('evt'), JSON.stringify({ cartId })], 'set shipping (cart not open)')
    // 5. price the cart, then reserve + pending payment + cart completing
    const { rows } = await run('floor_read_cart', READ_CART, [cartId])
    const lines = rows as CartLineRow[]
    const cart = lines[0]
    if (!cart) throw new Error('floor B: the cart is empty')
    if (cart.status !== 'open' || !cart.email || !cart.shipping_option_id) throw new Error('floor B: the cart is not ready')
    if (lines.length !== 1) throw new Error('floor B: the bench buys one line')
    if (cart.product_status !== 'active' || cart.amount === null) throw new Error('floor B: not for sale')
    const unitPrice = Number(cart.amount)
    const line = { id: cart.id, product_id: cart.product_id, sku: cart.sku, title: cart.title, variant_title: cart.variant_title, amount: unitPrice }
    const t = totalsFor(unitPrice, cart.quantity)
    now = new Date().toISOString()
    const paymentId = id('pay')
    const leaseUntil = new Date(Date.now() + LEASE_MS).toISOString()
    const checkoutJson = JSON.stringify({ id: cartId, currency: cart.currency, email: cart.email, shippingAddress: SEED.address, lines: [line], totals: t })
    const reserved = await run('floor_reserve', RESERVE, [
      cartId, cart.version, cart.quantity, now, cart.id, id('res'), paymentId, randomUUID(), cart.currency, t.total, leaseUntil, checkoutJson,
    ])
    if (reserved.rows[0]?.reserved !== 1) throw new Error('floor B: out of stock, or the cart changed while it was priced')
    // 6. authorize: in memory, no I/O
    const { reference } = authorize(paymentId)
    // 7. place the order
    now = new Date().toISOString()
    const orderId = id('order')
    const lineId = id('oline')
    const lineTotal = t.subtotal + t.lineTax
    const payment = {
      id: paymentId, cartId, orderId, provider: 'test', status: 'authorized', currency: cart.currency, amount: t.total, authorizedAmount: t.total,
      capturedAmount: 0, refundedAmount: 0, reference, failure: null, createdAt: now, updatedAt: now,
    }
    const order = {
      id: orderId, number: 0, cartId, currency: cart.currency, status: 'placed', paymentStatus: 'authorized', fulfillmentStatus: 'unfulfilled',
      email: cart.email, customerId: null, shippingAddress: SEED.address, billingAddress: SEED.address, shippingMethod,
      ...t, lines: [{ id: lineId, variantId: line.id, productId: line.product_id, sku: line.sku, title: line.title, variantTitle: line.variant_title, quantity: cart.quantity, unitPrice, subtotal: t.subtotal, discountTotal: 0, taxTotal: t.lineTax, total: lineTotal }],
      payments: [payment], metadata: {}, createdAt: now, updatedAt: now, canceledAt: null,
    }
    const placed = await run('floor_place_order', PLACE_ORDER, [
      orderId, paymentId, reference, now, cartId, cart.currency, cart.email, addressJson, shippingMethodJson,
      t.subtotal, t.shippingTotal, t.taxTotal, t.total,
      lineId, line.id, line.product_id, line.sku, line.title, line.variant_title, cart.quantity, unitPrice, t.lineTax, lineTotal,
      id('evt'), JSON.stringify({ payment }), id('evt'), JSON.stringify({ order }),
    ])
    if (placed.rowCount !== 1) throw new Error('floor B: the payment was no longer pending')
    return t.total
  }

  return { checkout, close: () => pool.end() }
}
