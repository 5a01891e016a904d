import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { sql } from 'kysely'
import { expect, it } from 'vitest'
import {
  createCommerce,
  fixedRateTax,
  flatRateShipping,
  testPayments,
  type Commerce,
  type CommerceOptions,
  type StorageAdapter,
} from '@cartwright/core'
// Tests may read core's own migration list: it says what "the latest schema" is.
import { coreMigrations } from '../../../core/src/db/migrations.js'
import { failure, key, placed } from './index.js'

/**
 * The upgrade checks, run on SQLite (test/core/upgrade.test.ts) and PostgreSQL
 * (test/postgres/upgrade.test.ts): a database written by a released schema is opened by today's
 * engine, which migrates it, and must read back and keep working on every row it holds.
 *
 * Fixtures live in test/core/fixtures, one per released schema, each made by the script next to
 * it at that release's commit. Every row expected below is read from the fixture itself.
 */

export const FIXTURE_V0_1_0 = fileURLToPath(new URL('../core/fixtures/v0.1.0.sqlite', import.meta.url))

/** Every table of a fixture, by name, each row as SQLite returns it. */
export type FixtureRows = Record<string, Array<Record<string, any>>>

/** Reads every table of a fixture (read-only). */
export function readFixture(filename: string): FixtureRows {
  const db = new Database(filename, { readonly: true, fileMustExist: true })
  try {
    const tables = db.prepare(`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`).all() as Array<{ name: string }>
    return Object.fromEntries(tables.map(({ name }) => [name, db.prepare(`select * from "${name}"`).all() as Array<Record<string, any>>]))
  } finally {
    db.close()
  }
}

/** The migrations a fixture's schema had run, in order. */
export function fixtureMigrations(rows: FixtureRows): string[] {
  return rows['cw_migrations']!.map((r) => r.name as string).sort()
}

/**
 * Core's tables in an order that satisfies their foreign keys, for copying a fixture into
 * another database. A table a fixture has and this list lacks fails the copy, so a new table
 * cannot be skipped silently.
 */
export const TABLES_IN_KEY_ORDER = [
  'cw_products',
  'cw_variants',
  'cw_prices',
  'cw_stock_locations',
  'cw_inventory_levels',
  'cw_reservations',
  'cw_carts',
  'cw_cart_lines',
  'cw_payments',
  'cw_orders',
  'cw_order_lines',
  'cw_outbox',
  'cw_outbox_deliveries',
  'cw_counters',
]

/** What the fixture script composed its engine with: the same providers price its carts the same. */
export function fixtureComposition(): Omit<CommerceOptions, 'storage'> {
  return {
    payments: [testPayments()],
    shipping: [flatRateShipping({ rates: [{ id: 'standard', name: 'Standard', amounts: { USD: 500, EUR: 450 } }] })],
    tax: fixedRateTax({ rate: '8' }),
    subscribers: [{ id: 'audit', events: '*', handle() {} }],
    outbox: { enabled: false },
    onListenerError: () => undefined,
  }
}

/** A database holding a fixture's rows, written by that fixture's schema. */
export interface OldDatabase {
  /** A storage adapter on it; each call makes a new one. */
  storage(): StorageAdapter
  drop(): Promise<void>
}

/** Reads every `cw_` table, each sorted, with timestamps as ISO strings: what must not change when nothing happens. */
async function everything(commerce: Commerce): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {}
  for (const table of [...TABLES_IN_KEY_ORDER, 'cw_payment_operations', 'cw_migrations']) {
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(table)}`.execute(commerce.db)
    out[table] = rows
      .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])))
      .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1))
  }
  return out
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0)

/** Every level's `reserved` equals the sum of its held reservations, read from storage. */
async function expectReservedIsHeld(commerce: Commerce): Promise<void> {
  const levels = await commerce.db.selectFrom('cw_inventory_levels').selectAll().execute()
  const held = await commerce.db.selectFrom('cw_reservations').selectAll().where('status', '=', 'held').execute()
  expect(levels.length).toBeGreaterThan(0)
  for (const level of levels) {
    expect(level.reserved, `reserved of ${level.id}`).toBe(sum(held.filter((r) => r.level_id === level.id).map((r) => r.quantity)))
  }
}

/**
 * Declares the upgrade checks of the 0.1.0 fixture. `copy` makes a new database holding the
 * fixture as 0.1.0 wrote it; each check opens it with `createCommerce`, which migrates it.
 */
export function upgradeChecksV010(copy: () => Promise<OldDatabase>): void {
  const fx = readFixture(FIXTURE_V0_1_0)
  const rows = (table: string) => fx[table]!

  async function upgraded(): Promise<{ commerce: Commerce; old: OldDatabase; close(): Promise<void> }> {
    const old = await copy()
    const commerce = await createCommerce({ storage: old.storage(), ...fixtureComposition() })
    return {
      commerce,
      old,
      async close() {
        await commerce.close()
        await old.drop()
      },
    }
  }

  it('holds what the fixture script wrote (the premise of every check below)', () => {
    expect(fixtureMigrations(fx)).toEqual(['0001_initial'])
    expect(rows('cw_orders').map((o) => [o.status, o.payment_status, o.fulfillment_status]).sort()).toEqual([
      ['canceled', 'refunded', 'unfulfilled'],
      ['placed', 'authorized', 'unfulfilled'],
      ['placed', 'partially_refunded', 'fulfilled'],
    ])
    expect(rows('cw_payments').some((p) => p.status === 'declined' && p.order_id === null)).toBe(true)
    expect(rows('cw_carts').filter((c) => c.status === 'open')).toHaveLength(3)
    expect(rows('cw_stock_locations')).toHaveLength(2)
    expect(rows('cw_outbox').length).toBeGreaterThan(0)
  })

  it('migrates to the latest schema and reads every order back with its totals, lines and payments', async () => {
    const { commerce, close } = await upgraded()
    try {
      const migrations = await sql<{ name: string }>`select name from cw_migrations`.execute(commerce.db)
      expect(migrations.rows.map((m) => m.name).sort()).toEqual(Object.keys(coreMigrations).sort())
      for (const row of rows('cw_orders')) {
        const order = await commerce.orders.get(row.id)
        expect(order).toMatchObject({
          id: row.id,
          number: row.number,
          cartId: row.cart_id,
          currency: row.currency,
          // 0.1.0 left a fulfilled, captured order placed; such an order is completed now.
          status: row.status === 'placed' && row.fulfillment_status === 'fulfilled' ? 'completed' : row.status,
          paymentStatus: row.payment_status,
          fulfillmentStatus: row.fulfillment_status,
          email: row.email,
          shippingAddress: JSON.parse(row.shipping_address),
          createdAt: row.created_at,
          canceledAt: row.canceled_at,
          totals: { subtotal: row.subtotal, discountTotal: row.discount_total, shippingTotal: row.shipping_total, taxTotal: row.tax_total, rounding: 0, total: row.total },
          // 0.1.0 kept no adjustments: only its lines' discount totals.
          adjustments: [],
        })
        const lines = rows('cw_order_lines')
          .filter((l) => l.order_id === row.id)
          .sort((a, b) => a.position - b.position)
        expect(order.lines).toEqual(
          lines.map((l) =>
            expect.objectContaining({
              id: l.id,
              variantId: l.variant_id,
              productId: l.product_id,
              sku: l.sku,
              title: l.title,
              variantTitle: l.variant_title,
              quantity: l.quantity,
              unitPrice: l.unit_price,
              subtotal: l.subtotal,
              discountTotal: l.discount_total,
              taxTotal: l.tax_total,
              total: l.total,
            }),
          ),
        )
        expect(order.payments).toEqual(
          rows('cw_payments')
            .filter((p) => p.order_id === row.id)
            .map((p) =>
              expect.objectContaining({
                id: p.id,
                provider: p.provider,
                status: p.status,
                currency: p.currency,
                amount: p.amount,
                authorizedAmount: p.authorized_amount,
                capturedAmount: p.captured_amount,
                refundedAmount: p.refunded_amount,
                reference: p.reference,
              }),
            ),
        )
        expect(await commerce.orders.getByNumber(row.number)).toEqual(order)
      }
      const listed = await commerce.orders.list({ limit: 2 })
      const rest = await commerce.orders.list({ limit: 2, cursor: listed.nextCursor! })
      expect([...listed.items, ...rest.items].map((o) => o.id).sort()).toEqual(rows('cw_orders').map((o) => o.id).sort())
      // The catalog too: the product with its variants and price tiers.
      for (const product of rows('cw_products')) {
        const read = await commerce.catalog.getProduct(product.id)
        expect(read).toMatchObject({ handle: product.handle, title: product.title, metadata: JSON.parse(product.metadata) })
        for (const variant of rows('cw_variants').filter((v) => v.product_id === product.id)) {
          const prices = rows('cw_prices').filter((p) => p.variant_id === variant.id)
          expect(read.variants.find((v) => v.id === variant.id)).toMatchObject({ sku: variant.sku, weightGrams: variant.weight_grams })
          expect(read.variants.find((v) => v.id === variant.id)!.prices).toEqual(
            expect.arrayContaining(prices.map((p) => ({ currency: p.currency, amount: p.amount, minQuantity: p.min_quantity }))),
          )
          expect(read.variants.find((v) => v.id === variant.id)!.prices).toHaveLength(prices.length)
        }
      }
      // Search indexes and summarizes the products a release had (migrations 0012 and 0013): each
      // active one is found, as the catalog reads it.
      const active = rows('cw_products').filter((p) => p.status === 'active')
      expect(active.length).toBeGreaterThan(0)
      const found = await commerce.search.products({ limit: 100 })
      expect(found.items.map((h) => h.product.id).sort()).toEqual(active.map((p) => p.id).sort())
      for (const hit of found.items) expect(hit.product).toEqual(await commerce.catalog.getProduct(hit.product.id))
    } finally {
      await close()
    }
  })

  it('keeps stock levels, with reserved equal to the held reservations', async () => {
    const { commerce, close } = await upgraded()
    try {
      for (const level of rows('cw_inventory_levels')) {
        const levels = await commerce.inventory.levels(level.variant_id)
        expect(levels.find((l) => l.locationId === level.location_id)).toEqual({
          variantId: level.variant_id,
          locationId: level.location_id,
          onHand: level.on_hand,
          reserved: level.reserved,
          available: level.on_hand - level.reserved,
          lowStockThreshold: level.low_stock_threshold,
          // Migration 0009: levels written before backorders have no allowance.
          backorderAllowance: 0,
        })
      }
      expect(rows('cw_reservations').some((r) => r.status === 'held')).toBe(true)
      await expectReservedIsHeld(commerce)
      expect((await commerce.inventory.listLocations()).map((l) => l.code).sort()).toEqual(rows('cw_stock_locations').map((l) => l.code).sort())
    } finally {
      await close()
    }
  })

  it('captures and fulfills the authorized order, and refunds more of the captured one', async () => {
    const { commerce, close } = await upgraded()
    try {
      const authorized = rows('cw_orders').find((o) => o.payment_status === 'authorized')!
      const [line] = rows('cw_order_lines').filter((l) => l.order_id === authorized.id)
      const [reservation] = rows('cw_reservations').filter((r) => r.order_id === authorized.id)
      const level = rows('cw_inventory_levels').find((l) => l.id === reservation!.level_id)!
      const captured = await commerce.orders.capturePayment(authorized.id)
      expect(captured.paymentStatus).toBe('captured')
      expect(captured.payments[0]).toMatchObject({ status: 'captured', capturedAmount: authorized.total })
      const fulfilled = await commerce.orders.fulfill(authorized.id)
      expect(fulfilled.fulfillmentStatus).toBe('fulfilled')
      const after = (await commerce.inventory.levels(level.variant_id)).find((l) => l.locationId === level.location_id)!
      expect(after).toMatchObject({ onHand: level.on_hand - line!.quantity, reserved: level.reserved - line!.quantity })
      await expectReservedIsHeld(commerce)

      const refundable = rows('cw_orders').find((o) => o.payment_status === 'partially_refunded')!
      const payment = rows('cw_payments').find((p) => p.order_id === refundable.id)!
      const refunded = await commerce.orders.refund(refundable.id, { amount: 500, reason: 'after the upgrade' })
      expect(refunded.payments[0]).toMatchObject({ status: 'partially_refunded', refundedAmount: payment.refunded_amount + 500, capturedAmount: payment.captured_amount })
      const rest = payment.captured_amount - payment.refunded_amount - 500
      const whole = await commerce.orders.refund(refundable.id, { amount: rest })
      expect(whole.payments[0]).toMatchObject({ status: 'refunded', refundedAmount: payment.captured_amount })
      await failure(commerce.orders.refund(refundable.id, { amount: 1 }), 'VALIDATION')
    } finally {
      await close()
    }
  })

  it('checks out the open carts, numbering their orders after the last one, and keeps 0.1.0 keys', async () => {
    const { commerce, close } = await upgraded()
    try {
      const lastNumber = Math.max(...rows('cw_orders').map((o) => o.number))
      const withLines = rows('cw_carts').filter((c) => c.status === 'open' && rows('cw_cart_lines').some((l) => l.cart_id === c.id))
      const declinedAttempt = rows('cw_payments').find((p) => p.status === 'declined')!
      const untried = withLines.find((c) => c.id !== declinedAttempt.cart_id)!
      const retried = withLines.find((c) => c.id === declinedAttempt.cart_id)!
      // A key used in 0.1.0 still belongs to its cart: the declined one replays its decline, a
      // key of another cart is refused.
      await failure(
        commerce.checkout.complete(retried.id, { payment: { provider: 'test' }, idempotencyKey: declinedAttempt.idempotency_key }),
        'PAYMENT_DECLINED',
      )
      const usedKey = rows('cw_payments').find((p) => p.order_id !== null)!.idempotency_key
      await failure(commerce.checkout.complete(untried.id, { payment: { provider: 'test' }, idempotencyKey: usedKey }), 'CONFLICT')

      const cart = await commerce.carts.get(untried.id)
      expect(cart.lines.map((l) => [l.variantId, l.quantity])).toEqual(
        rows('cw_cart_lines').filter((l) => l.cart_id === untried.id).map((l) => [l.variant_id, l.quantity]),
      )
      const first = placed(await commerce.checkout.complete(untried.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(first).toMatchObject({ number: lastNumber + 1, status: 'placed', paymentStatus: 'authorized', totals: cart.totals })
      const second = placed(await commerce.checkout.complete(retried.id, { payment: { provider: 'test' }, idempotencyKey: key() }))
      expect(second.number).toBe(lastNumber + 2)
      await expectReservedIsHeld(commerce)
      // An empty 0.1.0 cart takes items.
      const empty = rows('cw_carts').find((c) => c.status === 'open' && !rows('cw_cart_lines').some((l) => l.cart_id === c.id))!
      const variant = rows('cw_prices').find((p) => p.currency === empty.currency)!.variant_id
      expect((await commerce.carts.addItem(empty.id, { variantId: variant, quantity: 1 })).lines).toHaveLength(1)
    } finally {
      await close()
    }
  })

  it('keeps the outbox: every delivery listed, nothing delivered again', async () => {
    const { commerce, close } = await upgraded()
    try {
      const delivered = await commerce.outbox.list({ status: 'delivered', limit: 1000 })
      expect(delivered.map((d) => d.id).sort((a, b) => a - b)).toEqual(
        rows('cw_outbox_deliveries')
          .filter((d) => d.status === 'delivered')
          .map((d) => d.id),
      )
      expect(await commerce.outbox.drain()).toBe(0)
      // A new event gets a delivery numbered after the old ones.
      await commerce.carts.create({ currency: 'USD' })
      const pending = await commerce.outbox.list({ status: 'pending' })
      expect(pending).toHaveLength(1)
      expect(pending[0]!.id).toBeGreaterThan(Math.max(...rows('cw_outbox_deliveries').map((d) => d.id)))
    } finally {
      await close()
    }
  })

  it('changes nothing when migrated a second time', async () => {
    const { commerce, old } = await upgraded()
    let again: Commerce | undefined
    try {
      const once = await everything(commerce)
      await commerce.close()
      again = await createCommerce({ storage: old.storage(), ...fixtureComposition() })
      expect(await everything(again)).toEqual(once)
    } finally {
      await (again ?? commerce).close()
      await old.drop()
    }
  })
}
