/**
 * Checkouts per second on SQLite: raw better-sqlite3 floors against the Cartwright engine,
 * for one workload (one product, one variant with plenty of stock, flat shipping, 8 % tax).
 *
 *   cd packages/bench && pnpm bench               # every scenario, BENCH_N=2000
 *   BENCH_N=10000 pnpm bench                      # also: RSS after 10,000 engine orders
 *   pnpm bench:memory                             # only the RSS check, 10,000 orders
 *   BENCH_ONLY=engine-stepwise pnpm bench         # one scenario (comma-separated list)
 *
 * See README.md for what each row means.
 */
import { fork } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { Kysely, SqliteDialect, sql } from 'kysely'
import type { CoreDatabase } from '@cartwright/core'
import type { MemoryReport } from './memory-check.js'
import { EXPECTED_TOTAL, SEED, engineCheckout, engineComplete, engineReadyCart, seedShop, totalsFor } from './shop.js'

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`)
  return value
}

/** Timed checkouts per round. */
const N = intEnv('BENCH_N', 2000)
/** Untimed checkouts before the first round (JIT, statement caches, page cache). */
const WARMUP = intEnv('BENCH_WARMUP', 300)
/** Timed rounds per scenario; the table shows the median. */
const ROUNDS = Math.max(1, intEnv('BENCH_ROUNDS', 3))
/** Orders for the memory check (a separate process running only the engine). */
const MEMORY_ORDERS = intEnv('BENCH_MEMORY_N', N)
const ONLY = process.env['BENCH_ONLY']?.split(',').map((s) => s.trim()).filter(Boolean)
/** Where the database files go (default: the OS temp dir). */
const BENCH_DIR = process.env['BENCH_DIR'] || tmpdir()
const MIB = 1024 * 1024
const RSS_TARGET_MIB = 100

// ---------------------------------------------------------------------------------------------
// Raw databases on the engine's schema
// ---------------------------------------------------------------------------------------------

/** The floors run on the very schema and seed the engine made, through their own connection. */
async function seedFloorDatabase(filename: string): Promise<string> {
  const { commerce, variantId } = await seedShop(filename)
  await commerce.close()
  return variantId
}

function openRaw(filename: string): Database {
  const db = new Database(filename)
  db.pragma('busy_timeout = 5000')
  db.pragma('foreign_keys = ON')
  const mode = db.pragma('journal_mode = WAL', { simple: true })
  if (String(mode).toLowerCase() !== 'wal') throw new Error(`expected WAL, got ${String(mode)}`)
  db.pragma('synchronous = NORMAL')
  return db
}

const id = (prefix: string) => `${prefix}_${randomUUID()}`
const nowIso = () => new Date().toISOString()

// ---------------------------------------------------------------------------------------------
// Raw better-sqlite3: the statements both floors share
// ---------------------------------------------------------------------------------------------

interface VariantRow {
  id: string
  product_id: string
  sku: string
  variant_title: string
  title: string
  status: string
  amount: number
}

function rawStatements(db: Database) {
  return {
    insertCart: db.prepare(
      `insert into cw_carts (id, currency, status, version, created_at, updated_at) values (?, ?, 'open', 0, ?, ?)`,
    ),
    cartStatus: db.prepare(`select status, version from cw_carts where id = ?`),
    cartRow: db.prepare(`select * from cw_carts where id = ?`),
    variant: db.prepare(
      `select v.id, v.product_id, v.sku, v.title as variant_title, p.title, p.status, pr.amount
         from cw_variants v
         join cw_products p on p.id = v.product_id
         join cw_prices pr on pr.variant_id = v.id and pr.currency = ? and pr.min_quantity <= ?
        where v.id = ?
        order by pr.min_quantity desc limit 1`,
    ),
    available: db.prepare(`select sum(on_hand - reserved) as available from cw_inventory_levels where variant_id = ?`),
    cartLines: db.prepare(
      `select l.id as line_id, l.quantity, v.id, v.product_id, v.sku, v.title as variant_title, p.title, p.status, pr.amount
         from cw_cart_lines l
         join cw_variants v on v.id = l.variant_id
         join cw_products p on p.id = v.product_id
         join cw_carts c on c.id = l.cart_id
         join cw_prices pr on pr.variant_id = v.id and pr.currency = c.currency and pr.min_quantity <= l.quantity
        where l.cart_id = ?
        order by l.created_at, l.id`,
    ),
    insertLine: db.prepare(`insert into cw_cart_lines (id, cart_id, variant_id, quantity, created_at) values (?, ?, ?, ?, ?)`),
    setContact: db.prepare(`update cw_carts set email = ?, shipping_address = ?, version = version + 1, updated_at = ? where id = ?`),
    setShipping: db.prepare(`update cw_carts set shipping_option_id = ?, version = version + 1, updated_at = ? where id = ?`),
    touchCart: db.prepare(`update cw_carts set version = version + 1, updated_at = ? where id = ?`),
    level: db.prepare(`select id, location_id from cw_inventory_levels where variant_id = ? and on_hand - reserved >= ? order by id limit 1`),
    reserve: db.prepare(`update cw_inventory_levels set reserved = reserved + ?, updated_at = ? where id = ? and on_hand - reserved >= ?`),
    insertReservation: db.prepare(
      `insert into cw_reservations (id, variant_id, location_id, level_id, quantity, cart_id, order_id, status, created_at)
       values (?, ?, ?, ?, ?, ?, null, 'held', ?)`,
    ),
    insertPayment: db.prepare(
      `insert into cw_payments (id, cart_id, order_id, provider, idempotency_key, status, currency, amount, authorized_amount,
                                captured_amount, refunded_amount, reference, failure, lease_until, data, created_at, updated_at)
       values (?, ?, null, 'test', ?, 'pending', ?, ?, 0, 0, 0, null, null, ?, '{}', ?, ?)`,
    ),
    markCompleting: db.prepare(`update cw_carts set status = 'completing', checkout = ?, updated_at = ? where id = ?`),
    paymentStatus: db.prepare(`select status, order_id from cw_payments where id = ?`),
    nextNumber: db.prepare(`update cw_counters set value = value + 1 where name = 'order_number' returning value`),
    insertOrder: db.prepare(
      `insert into cw_orders (id, number, cart_id, currency, status, payment_status, fulfillment_status, email, customer_id,
                              shipping_address, billing_address, shipping_method, subtotal, discount_total, shipping_total,
                              tax_total, total, metadata, created_at, updated_at, canceled_at)
       values (?, ?, ?, ?, 'placed', 'authorized', 'unfulfilled', ?, null, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?, null)`,
    ),
    insertOrderLine: db.prepare(
      `insert into cw_order_lines (id, order_id, variant_id, product_id, sku, title, variant_title, quantity, unit_price,
                                   subtotal, discount_total, tax_total, total, position)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 0)`,
    ),
    attachReservations: db.prepare(`update cw_reservations set order_id = ? where cart_id = ? and status = 'held'`),
    authorizePayment: db.prepare(
      `update cw_payments set order_id = ?, status = 'authorized', authorized_amount = ?, reference = ?, lease_until = null,
                              updated_at = ? where id = ?`,
    ),
    completeCart: db.prepare(`update cw_carts set status = 'completed', order_id = ?, updated_at = ? where id = ?`),
    insertEvent: db.prepare(`insert into cw_outbox (id, type, payload, created_at) values (?, ?, ?, ?)`),
  }
}
type RawStatements = ReturnType<typeof rawStatements>

/** The in-memory "gateway" of the floors: approves everything, no I/O. */
let gatewaySequence = 0
const authorize = (paymentId: string) => ({ status: 'authorized' as const, reference: `tp_${++gatewaySequence}_${paymentId}` })

const shippingMethodJson = JSON.stringify({ id: SEED.shippingOptionId, provider: 'flat', name: 'Standard', amount: SEED.shipping })
const addressJson = JSON.stringify(SEED.address)

/** Writes order + line, attaches reservations, settles payment, completes the cart, writes the two events. */
function placeOrderRaw(q: RawStatements, cartId: string, paymentId: string, reference: string, line: VariantRow, lineId: string, now: string): void {
  const t = totalsFor(line.amount, 1)
  const number = (q.nextNumber.get() as { value: number }).value
  const orderId = id('order')
  q.insertOrder.run(orderId, number, cartId, SEED.currency, SEED.email, addressJson, addressJson, shippingMethodJson,
    t.subtotal, t.discountTotal, t.shippingTotal, t.taxTotal, t.total, now, now)
  q.insertOrderLine.run(id('oline'), orderId, line.id, line.product_id, line.sku, line.title, line.variant_title, 1, line.amount,
    t.subtotal, t.lineTax, t.subtotal + t.lineTax)
  q.attachReservations.run(orderId, cartId)
  q.authorizePayment.run(orderId, t.total, reference, now, paymentId)
  q.completeCart.run(orderId, now, cartId)
  const payment = { id: paymentId, cartId, orderId, provider: 'test', status: 'authorized', currency: SEED.currency, amount: t.total, authorizedAmount: t.total, capturedAmount: 0, refundedAmount: 0, reference, failure: null, createdAt: now, updatedAt: now }
  const order = {
    id: orderId, number, cartId, currency: SEED.currency, status: 'placed', paymentStatus: 'authorized', fulfillmentStatus: 'unfulfilled',
    email: SEED.email, customerId: null, shippingAddress: SEED.address, billingAddress: SEED.address, shippingMethod: JSON.parse(shippingMethodJson),
    ...t, lines: [{ id: lineId, variantId: line.id, productId: line.product_id, sku: line.sku, title: line.title, variantTitle: line.variant_title, quantity: 1, unitPrice: line.amount, subtotal: t.subtotal, discountTotal: 0, taxTotal: t.lineTax, total: t.subtotal + t.lineTax }],
    payments: [payment], metadata: {}, createdAt: now, updatedAt: now, canceledAt: null,
  }
  q.insertEvent.run(id('evt'), 'payment.authorized', JSON.stringify({ payment }), now)
  q.insertEvent.run(id('evt'), 'order.placed', JSON.stringify({ order }), now)
}

/** Reserves one unit with a conditional UPDATE and records the reservation. */
function reserveRaw(q: RawStatements, cartId: string, variantId: string, now: string): void {
  const level = q.level.get(variantId, 1) as { id: string; location_id: string } | undefined
  if (!level || q.reserve.run(1, now, level.id, 1).changes !== 1) throw new Error('out of stock')
  q.insertReservation.run(id('res'), variantId, level.location_id, level.id, 1, cartId, now)
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

interface Scenario {
  name: string
  /** Name of the floor this row is compared with. */
  floor?: string
  /** Design target: at most this many times slower than the floor. */
  targetRatio?: number
  /** Database file the scenario wrote, checked afterwards. */
  filename: string
  /** Runs untimed preparation for one round (e.g. building carts); optional. */
  prepare?(count: number): Promise<void>
  /** Runs `count` checkouts. */
  run(count: number): Promise<void>
  /** Runs a PRAGMA on the scenario's own connection and returns its rows. */
  pragma(text: string): Promise<unknown[]>
  close(): Promise<void>
}

/** Floor A: the whole checkout in one IMMEDIATE transaction of prepared statements. */
async function floorA(dir: string): Promise<Scenario> {
  const filename = join(dir, 'floor-a.db')
  const variantId = await seedFloorDatabase(filename)
  const db = openRaw(filename)
  const q = rawStatements(db)
  const checkout = db.transaction(() => {
    const now = nowIso()
    const cartId = id('cart')
    q.insertCart.run(cartId, SEED.currency, now, now)
    const line = q.variant.get(SEED.currency, 1, variantId) as VariantRow
    const lineId = id('line')
    q.insertLine.run(lineId, cartId, variantId, 1, now)
    q.setContact.run(SEED.email, addressJson, now, cartId)
    q.setShipping.run(SEED.shippingOptionId, now, cartId)
    reserveRaw(q, cartId, variantId, now)
    const paymentId = id('pay')
    const t = totalsFor(line.amount, 1)
    q.insertPayment.run(paymentId, cartId, randomUUID(), SEED.currency, t.total, now, now, now)
    const { reference } = authorize(paymentId)
    // The engine writes one event per step; here they all go in at the end.
    q.insertEvent.run(id('evt'), 'cart.created', JSON.stringify({ cartId, currency: SEED.currency }), now)
    q.insertEvent.run(id('evt'), 'cart.item_added', JSON.stringify({ cartId, variantId, quantity: 1 }), now)
    q.insertEvent.run(id('evt'), 'cart.updated', JSON.stringify({ cartId }), now)
    q.insertEvent.run(id('evt'), 'cart.updated', JSON.stringify({ cartId }), now)
    placeOrderRaw(q, cartId, paymentId, reference, line, lineId, now)
  })
  return {
    name: 'floor A (raw, 1 tx)',
    filename,
    async run(count) {
      for (let i = 0; i < count; i++) checkout.immediate()
    },
    pragma: async (text) => db.prepare(`pragma ${text}`).all(),
    async close() {
      db.close()
    },
  }
}

/** Floor B: the cart persisted between 7 steps, each write step its own transaction. */
async function floorB(dir: string): Promise<Scenario> {
  const filename = join(dir, 'floor-b.db')
  const variantId = await seedFloorDatabase(filename)
  const db = openRaw(filename)
  const q = rawStatements(db)
  const openCart = (cartId: string) => {
    const cart = q.cartStatus.get(cartId) as { status: string } | undefined
    if (cart?.status !== 'open') throw new Error(`cart ${cartId} is not open`)
  }
  // 1. create cart
  const create = db.transaction(() => {
    const now = nowIso()
    const cartId = id('cart')
    q.insertCart.run(cartId, SEED.currency, now, now)
    q.insertEvent.run(id('evt'), 'cart.created', JSON.stringify({ cartId, currency: SEED.currency }), now)
    return cartId
  })
  // 2. add item: the cart must be open, the variant for sale with a price, the stock there
  const addItem = db.transaction((cartId: string) => {
    const now = nowIso()
    openCart(cartId)
    const variant = q.variant.get(SEED.currency, 1, variantId) as VariantRow | undefined
    if (!variant || variant.status !== 'active') throw new Error('not for sale')
    if ((q.available.get(variantId) as { available: number }).available < 1) throw new Error('out of stock')
    q.insertLine.run(id('line'), cartId, variantId, 1, now)
    q.touchCart.run(now, cartId)
    q.insertEvent.run(id('evt'), 'cart.item_added', JSON.stringify({ cartId, variantId, quantity: 1 }), now)
  })
  // 3. email + address
  const setContact = db.transaction((cartId: string) => {
    const now = nowIso()
    openCart(cartId)
    q.setContact.run(SEED.email, addressJson, now, cartId)
    q.insertEvent.run(id('evt'), 'cart.updated', JSON.stringify({ cartId }), now)
  })
  // 4. shipping option
  const setShipping = db.transaction((cartId: string) => {
    const now = nowIso()
    openCart(cartId)
    q.setShipping.run(SEED.shippingOptionId, now, cartId)
    q.insertEvent.run(id('evt'), 'cart.updated', JSON.stringify({ cartId }), now)
  })
  // 5. reserve stock + pending payment, cart -> completing
  const reserve = db.transaction((cartId: string) => {
    const now = nowIso()
    const cart = q.cartRow.get(cartId) as { status: string; email: string | null; shipping_option_id: string | null }
    if (cart.status !== 'open' || !cart.email || !cart.shipping_option_id) throw new Error('cart not ready')
    const [line] = q.cartLines.all(cartId) as Array<VariantRow & { line_id: string; quantity: number }>
    if (!line) throw new Error('empty cart')
    reserveRaw(q, cartId, line.id, now)
    const t = totalsFor(line.amount, line.quantity)
    const paymentId = id('pay')
    q.insertPayment.run(paymentId, cartId, randomUUID(), SEED.currency, t.total, now, now, now)
    q.markCompleting.run(JSON.stringify({ id: cartId, currency: SEED.currency, email: cart.email, shippingAddress: SEED.address, lines: [line], totals: t }), now, cartId)
    return { paymentId, line, lineId: line.line_id }
  })
  // 7. place the order
  const place = db.transaction((cartId: string, paymentId: string, reference: string, line: VariantRow, lineId: string) => {
    const current = q.paymentStatus.get(paymentId) as { status: string }
    if (current.status !== 'pending') throw new Error('payment not pending')
    placeOrderRaw(q, cartId, paymentId, reference, line, lineId, nowIso())
  })
  return {
    name: 'floor B (raw, 7 steps)',
    filename,
    async run(count) {
      for (let i = 0; i < count; i++) {
        const cartId = create.immediate()
        addItem.immediate(cartId)
        setContact.immediate(cartId)
        setShipping.immediate(cartId)
        const { paymentId, line, lineId } = reserve.immediate(cartId)
        const { reference } = authorize(paymentId) // 6. authorize: in memory, no I/O
        place.immediate(cartId, paymentId, reference, line, lineId)
      }
    },
    pragma: async (text) => db.prepare(`pragma ${text}`).all(),
    async close() {
      db.close()
    },
  }
}

/** Floor A's statements through kysely's stock SqliteDialect (re-prepares each statement). */
async function kyselyFloorA(dir: string): Promise<Scenario> {
  const filename = join(dir, 'kysely-floor-a.db')
  const variantId = await seedFloorDatabase(filename)
  const db = new Kysely<CoreDatabase>({ dialect: new SqliteDialect({ database: openRaw(filename) }) })
  const event = (type: string, payload: unknown, now: string) => ({ id: id('evt'), type, payload: JSON.stringify(payload), created_at: now })
  const checkout = () =>
    db.transaction().execute(async (tx) => {
      const now = nowIso()
      const cartId = id('cart')
      await tx.insertInto('cw_carts').values({
        id: cartId, currency: SEED.currency, status: 'open', email: null, customer_id: null, shipping_address: null, billing_address: null,
        shipping_option_id: null, checkout: null, order_id: null, version: 0, metadata: null, created_at: now, updated_at: now,
      }).execute()
      const line = await tx
        .selectFrom('cw_variants as v')
        .innerJoin('cw_products as p', 'p.id', 'v.product_id')
        .innerJoin('cw_prices as pr', (j) => j.onRef('pr.variant_id', '=', 'v.id').on('pr.currency', '=', SEED.currency).on('pr.min_quantity', '<=', 1))
        .select(['v.id', 'v.product_id', 'v.sku', 'v.title as variant_title', 'p.title', 'p.status', 'pr.amount'])
        .where('v.id', '=', variantId)
        .orderBy('pr.min_quantity', 'desc')
        .limit(1)
        .executeTakeFirstOrThrow()
      const lineId = id('line')
      await tx.insertInto('cw_cart_lines').values({ id: lineId, cart_id: cartId, variant_id: variantId, quantity: 1, created_at: now }).execute()
      await tx.updateTable('cw_carts').set({ email: SEED.email, shipping_address: addressJson, version: sql`version + 1`, updated_at: now }).where('id', '=', cartId).execute()
      await tx.updateTable('cw_carts').set({ shipping_option_id: SEED.shippingOptionId, version: sql`version + 1`, updated_at: now }).where('id', '=', cartId).execute()
      const level = await tx
        .selectFrom('cw_inventory_levels')
        .select(['id', 'location_id'])
        .where('variant_id', '=', variantId)
        .where(sql<boolean>`on_hand - reserved >= ${1}`)
        .orderBy('id')
        .limit(1)
        .executeTakeFirstOrThrow()
      const reserved = await tx
        .updateTable('cw_inventory_levels')
        .set({ reserved: sql`reserved + ${1}`, updated_at: now })
        .where('id', '=', level.id)
        .where(sql<boolean>`on_hand - reserved >= ${1}`)
        .executeTakeFirst()
      if (Number(reserved.numUpdatedRows) !== 1) throw new Error('out of stock')
      await tx.insertInto('cw_reservations').values({ id: id('res'), variant_id: variantId, location_id: level.location_id, level_id: level.id, quantity: 1, cart_id: cartId, order_id: null, status: 'held', created_at: now }).execute()
      const t = totalsFor(line.amount, 1)
      const paymentId = id('pay')
      await tx.insertInto('cw_payments').values({
        id: paymentId, cart_id: cartId, order_id: null, kind: 'gateway', provider: 'test', idempotency_key: randomUUID(), status: 'pending', currency: SEED.currency,
        amount: t.total, authorized_amount: 0, captured_amount: 0, refunded_amount: 0, reference: null, failure: null, lease_until: now, data: '{}', claim_events: null, created_at: now, updated_at: now,
      }).execute()
      const { reference } = authorize(paymentId)
      const { value: number } = await tx.updateTable('cw_counters').set({ value: sql`value + 1` }).where('name', '=', 'order_number').returning('value').executeTakeFirstOrThrow()
      const orderId = id('order')
      await tx.insertInto('cw_orders').values({
        id: orderId, number, cart_id: cartId, currency: SEED.currency, status: 'placed', payment_status: 'authorized', fulfillment_status: 'unfulfilled',
        email: SEED.email, customer_id: null, shipping_address: addressJson, billing_address: addressJson, shipping_method: shippingMethodJson,
        subtotal: t.subtotal, discount_total: 0, shipping_total: t.shippingTotal, tax_total: t.taxTotal, total: t.total, metadata: null, created_at: now, updated_at: now, canceled_at: null,
      }).execute()
      await tx.insertInto('cw_order_lines').values({
        id: id('oline'), order_id: orderId, variant_id: line.id, product_id: line.product_id, sku: line.sku, title: line.title, variant_title: line.variant_title,
        quantity: 1, unit_price: line.amount, subtotal: t.subtotal, discount_total: 0, tax_total: t.lineTax, total: t.subtotal + t.lineTax, position: 0,
      }).execute()
      await tx.updateTable('cw_reservations').set({ order_id: orderId }).where('cart_id', '=', cartId).where('status', '=', 'held').execute()
      await tx.updateTable('cw_payments').set({ order_id: orderId, status: 'authorized', authorized_amount: t.total, reference, lease_until: null, updated_at: now }).where('id', '=', paymentId).execute()
      await tx.updateTable('cw_carts').set({ status: 'completed', order_id: orderId, updated_at: now }).where('id', '=', cartId).execute()
      const order = { id: orderId, number, cartId, currency: SEED.currency, email: SEED.email, shippingAddress: SEED.address, ...t, lines: [line] }
      await tx.insertInto('cw_outbox').values([
        event('cart.created', { cartId, currency: SEED.currency }, now),
        event('cart.item_added', { cartId, variantId, quantity: 1 }, now),
        event('cart.updated', { cartId }, now),
        event('cart.updated', { cartId }, now),
        event('payment.authorized', { payment: { id: paymentId, cartId, orderId, amount: t.total, reference } }, now),
        event('order.placed', { order }, now),
      ]).execute()
    })
  return {
    name: 'kysely stock SqliteDialect, floor A',
    floor: 'floor A (raw, 1 tx)',
    filename,
    async run(count) {
      for (let i = 0; i < count; i++) await checkout()
    },
    pragma: async (text) => (await sql.raw(`pragma ${text}`).execute(db)).rows as unknown[],
    close: () => db.destroy(),
  }
}

/** The engine on a WAL file doing floor B's 7 steps through carts.* and checkout.complete. */
async function engineStepwise(dir: string): Promise<Scenario> {
  const filename = join(dir, 'engine-stepwise.db')
  const { commerce, variantId } = await seedShop(filename)
  return {
    name: 'engine stepwise',
    floor: 'floor B (raw, 7 steps)',
    targetRatio: 2,
    filename,
    async run(count) {
      for (let i = 0; i < count; i++) await engineCheckout(commerce, variantId)
    },
    pragma: async (text) => (await sql.raw(`pragma ${text}`).execute(commerce.db)).rows as unknown[],
    close: () => commerce.close(),
  }
}

/** Only `checkout.complete`, timed, on carts built (untimed) through the engine beforehand. */
async function engineCompleteOnly(dir: string): Promise<Scenario> {
  const filename = join(dir, 'engine-complete.db')
  const { commerce, variantId } = await seedShop(filename)
  let ready: string[] = []
  return {
    name: 'engine checkout.complete only',
    floor: 'floor A (raw, 1 tx)',
    targetRatio: 3,
    filename,
    async prepare(count) {
      ready = []
      for (let i = 0; i < count; i++) ready.push(await engineReadyCart(commerce, variantId))
    },
    async run(count) {
      for (let i = 0; i < count; i++) await engineComplete(commerce, ready[i]!)
    },
    pragma: async (text) => (await sql.raw(`pragma ${text}`).execute(commerce.db)).rows as unknown[],
    close: () => commerce.close(),
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring, checking, reporting
// ---------------------------------------------------------------------------------------------

const SCENARIOS: Record<string, (dir: string) => Promise<Scenario>> = {
  'floor-a': floorA,
  'floor-b': floorB,
  'kysely-floor-a': kyselyFloorA,
  'engine-stepwise': engineStepwise,
  'engine-complete': engineCompleteOnly,
}

interface Measured {
  scenario: Scenario
  /** Wall-clock milliseconds per round of N checkouts. */
  rounds: number[]
  /** Process CPU milliseconds (user + system) per round. */
  cpu: number[]
  /** Pages appended to the WAL per checkout (what each commit writes). */
  walPages?: number
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const perSecond = (ms: number) => (N * 1000) / ms

async function timeRound(scenario: Scenario, into: Measured): Promise<void> {
  await scenario.prepare?.(N)
  const cpu = process.cpuUsage()
  const start = performance.now()
  await scenario.run(N)
  into.rounds.push(performance.now() - start)
  const used = process.cpuUsage(cpu)
  into.cpu.push((used.user + used.system) / 1000)
}

/** Checkouts of the WAL-pages pass (untimed, after the rounds). */
const WAL_PASS = 200

/**
 * Counts the pages a checkout appends to the WAL: auto-checkpoints off, WAL_PASS checkouts,
 * then the WAL's frame count. Pages written is what COMMIT (and later checkpoints) pay for.
 */
async function walPages(m: Measured): Promise<void> {
  const { scenario } = m
  await scenario.prepare?.(WAL_PASS)
  await scenario.pragma('wal_checkpoint(TRUNCATE)')
  await scenario.pragma('wal_autocheckpoint = 0')
  await scenario.run(WAL_PASS)
  const [frames] = (await scenario.pragma('wal_checkpoint(PASSIVE)')) as Array<{ log: number }>
  await scenario.pragma('wal_checkpoint(TRUNCATE)')
  await scenario.pragma('wal_autocheckpoint = 1000')
  m.walPages = frames!.log / WAL_PASS
}

/**
 * Warms every scenario up, then runs the rounds interleaved (round 1 of each, round 2 of each,
 * ...), rotating the order, so a burst of background load hits every row alike.
 */
async function measureAll(scenarios: Scenario[]): Promise<Measured[]> {
  const results = scenarios.map((scenario): Measured => ({ scenario, rounds: [], cpu: [] }))
  for (const { scenario } of results) {
    process.stdout.write(`  warm-up: ${scenario.name}\n`)
    await scenario.prepare?.(WARMUP)
    await scenario.run(WARMUP)
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < results.length; k++) {
      const m = results[(k + r) % results.length]!
      await timeRound(m.scenario, m)
      process.stdout.write(`  round ${r + 1}/${ROUNDS}: ${m.scenario.name.padEnd(36)} ${perSecond(m.rounds.at(-1)!).toFixed(0).padStart(6)} checkouts/s\n`)
    }
  }
  for (const m of results) await walPages(m)
  return results
}

/**
 * Reads the scenario's database back: every checkout made exactly one order with the expected
 * total, and the stock reserved equals the units ordered. A floor that skipped work would show here.
 */
function verify(scenario: Scenario, expectedOrders: number): void {
  const db = new Database(scenario.filename, { readonly: true })
  try {
    const orders = db.prepare(`select count(*) as n, min(total) as lo, max(total) as hi from cw_orders`).get() as { n: number; lo: number; hi: number }
    const reserved = (db.prepare(`select sum(reserved) as r from cw_inventory_levels`).get() as { r: number }).r
    const events = (db.prepare(`select count(*) as n from cw_outbox where type = 'order.placed'`).get() as { n: number }).n
    const problems: string[] = []
    if (orders.n !== expectedOrders) problems.push(`${orders.n} orders, expected ${expectedOrders}`)
    if (orders.lo !== EXPECTED_TOTAL || orders.hi !== EXPECTED_TOTAL) problems.push(`order totals ${orders.lo}..${orders.hi}, expected ${EXPECTED_TOTAL}`)
    if (reserved !== expectedOrders) problems.push(`${reserved} units reserved, expected ${expectedOrders}`)
    if (events !== expectedOrders) problems.push(`${events} order.placed events, expected ${expectedOrders}`)
    if (problems.length) throw new Error(`${scenario.name}: ${problems.join('; ')}`)
  } finally {
    db.close()
  }
}

function printTable(results: Measured[]): void {
  const byName = new Map(results.map((r) => [r.scenario.name, r]))
  const rows = results.map(({ scenario, rounds, cpu, walPages }) => {
    const ms = median(rounds)
    const floor = scenario.floor ? byName.get(scenario.floor) : undefined
    const ratio = floor ? ms / median(floor.rounds) : undefined
    const cpuRatio = floor ? median(cpu) / median(floor.cpu) : undefined
    const floorName = scenario.floor?.split(' (')[0]
    return [
      scenario.name,
      perSecond(ms).toFixed(0),
      (ms / N).toFixed(3),
      rounds.length > 1 ? `${perSecond(Math.max(...rounds)).toFixed(0)}–${perSecond(Math.min(...rounds)).toFixed(0)}` : '',
      ratio === undefined ? (floorName ? `(no ${floorName} run)` : '—') : `${ratio.toFixed(2)}× ${floorName}`,
      scenario.targetRatio === undefined ? '' : ratio === undefined ? `≤ ${scenario.targetRatio}×` : `≤ ${scenario.targetRatio}× ${ratio <= scenario.targetRatio ? 'ok' : 'MISSED'}`,
      (median(cpu) / N).toFixed(3),
      cpuRatio === undefined ? '' : `${cpuRatio.toFixed(2)}×`,
      walPages === undefined ? '' : walPages.toFixed(1),
    ]
  })
  const header = ['scenario', 'checkouts/s', 'ms/checkout', `range (${ROUNDS} rounds)`, 'vs floor (time)', 'target', 'CPU ms/checkout', 'vs floor (CPU)', 'WAL pages/checkout']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  console.log()
  console.log(line(header))
  console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  for (const row of rows) console.log(line(row))
  console.log()
  console.log(`N=${N} checkouts per round, ${ROUNDS} interleaved rounds (median shown), ${WARMUP} warm-up; one checkout at a time; file databases in WAL, synchronous=NORMAL.`)
  console.log(`"vs floor" = time per checkout relative to the floor (1.00× = as fast as raw SQL); the CPU columns count process CPU (user + system), steadier on a busy machine.`)
  console.log(`RSS of this process after the run: ${(process.memoryUsage().rss / MIB).toFixed(1)} MiB (all scenarios, tsx loader included; see the memory check below for the engine alone).`)
}

// ---------------------------------------------------------------------------------------------
// Memory: a fresh process running only the engine (memory-check.ts)
// ---------------------------------------------------------------------------------------------

function runMemoryCheck(): Promise<MemoryReport> {
  const here = dirname(fileURLToPath(import.meta.url))
  const fromDist = process.env['BENCH_MEMORY_DIST'] === '1'
  return new Promise((resolve, reject) => {
    const child = fork(join(here, 'memory-check.cjs'), [], {
      env: { ...process.env, BENCH_MEMORY_N: String(MEMORY_ORDERS) },
      // Not process.execArgv: that carries tsx's ESM loader (a worker thread, ~35 MiB).
      execArgv: [...(fromDist ? [] : ['--conditions=cartwright-source']), '--expose-gc'],
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    })
    let report: MemoryReport | undefined
    child.on('message', (message) => (report = message as MemoryReport))
    child.on('error', reject)
    child.on('exit', (code) => (report && code === 0 ? resolve(report) : reject(new Error(`memory check exited with ${code}`))))
  })
}

function printMemory(m: MemoryReport): void {
  const verdict =
    m.orders >= 10_000
      ? `  → target ≤ ${RSS_TARGET_MIB} MiB after 10,000 orders: ${m.afterOrdersMiB <= RSS_TARGET_MIB ? 'ok' : 'MISSED'}`
      : '  (BENCH_N=10000 or pnpm bench:memory for the design target)'
  const mib = (v: number) => `${v.toFixed(1).padStart(6)} MiB`
  console.log()
  console.log(`Memory: a fresh process, engine stepwise only, ${m.orders} orders (${m.ordersPerSecond.toFixed(0)}/s), engine loaded from ${m.loadedFrom}:`)
  console.log(`  node flags: ${m.nodeFlags}`)
  console.log(`  RSS at process start           ${mib(m.startMiB)}`)
  console.log(`  RSS after load + engine + seed ${mib(m.afterSetupMiB)}`)
  console.log(`  RSS after ${String(m.orders).padEnd(6)} orders        ${mib(m.afterOrdersMiB)}${verdict}`)
  console.log(`    of which V8 heap             ${mib(m.heapTotalMiB)}   (used ${m.heapUsedMiB.toFixed(1)} MiB; external ${m.externalMiB.toFixed(1)} MiB)`)
  if (m.afterGcMiB !== null) console.log(`  RSS after a full GC            ${mib(m.afterGcMiB)}   (heap used ${m.heapUsedAfterGcMiB!.toFixed(1)} MiB)`)
  console.log(`  growth over the orders         ${mib(m.afterOrdersMiB - m.afterSetupMiB)}`)
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const memoryOnly = process.env['BENCH_MODE'] === 'memory'
  const names = memoryOnly ? [] : (ONLY ?? Object.keys(SCENARIOS))
  for (const name of names) if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`)

  const load = loadavg()[0]!
  console.log(`Cartwright SQLite checkout bench — node ${process.version}, ${cpus().length} CPUs, load average ${load.toFixed(2)}, databases in ${BENCH_DIR}`)
  if (load > 0.5 * cpus().length) console.log(`  warning: the machine is busy (load ${load.toFixed(2)}); absolute numbers will be low and noisy — compare ratios, or re-run when idle`)
  const dir = mkdtempSync(join(BENCH_DIR, 'cartwright-bench-'))
  let results: Measured[] = []
  const scenarios: Scenario[] = []
  try {
    for (const name of names) scenarios.push(await SCENARIOS[name]!(dir))
    results = await measureAll(scenarios)
  } finally {
    for (const scenario of scenarios) await scenario.close()
  }
  try {
    for (const scenario of scenarios) verify(scenario, WARMUP + N * ROUNDS + WAL_PASS)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  if (results.length) printTable(results)
  const wantMemory = memoryOnly || (!ONLY && process.env['BENCH_SKIP_MEMORY'] !== '1')
  if (wantMemory) printMemory(await runMemoryCheck())
}

await main()
