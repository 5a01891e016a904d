import assert from 'node:assert/strict'
import { rejection } from '../check.js'
import { num, text, textOrNull } from '../raw.js'
import { checkout, key, orderRow, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'

const INSERT_ORDER =
  'insert into cw_orders (id, number, cart_id, currency, status, payment_status, fulfillment_status, email, subtotal, discount_total, shipping_total, tax_total, total, created_at, updated_at) ' +
  'values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'

export const oneOrderPerCartCases: StorageGroup = {
  group: 'one order per cart',
  cases: [
    {
      name: 'the database refuses a second order for the same cart (raw insert), and isUniqueViolation recognises the error',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 1]])
        const order = await checkout(commerce, cart.id)
        const now = t.clock.iso()
        await t.raw.refused(INSERT_ORDER, ['order_dup', 99_999, cart.id, 'USD', 'placed', 'authorized', 'unfulfilled', 'x@example.com', 0, 0, 0, 0, 0, now, now])
        const error = await rejection(
          commerce.db
            .insertInto('cw_orders')
            .values(orderRow({ id: 'order_dup', number: 99_999, cart_id: cart.id, email: 'x@example.com', at: now }))
            .execute(),
        )
        assert.equal(t.adapter.isUniqueViolation(error), true, `isUniqueViolation(${String(error)})`)
        assert.equal(t.adapter.isCheckViolation(error), false)
        const rows = await t.raw.rows('select id from cw_orders where cart_id = ?', [cart.id])
        assert.deepEqual(rows.map((r) => text(r['id'])), [order.id])
      },
    },
    {
      name: 'completing a completed cart returns its order whatever the key, and writes no second payment',
      async run(t) {
        const { commerce, payments } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 1]])
        const order = await checkout(commerce, cart.id)
        for (let i = 0; i < 3; i++) assert.equal((await checkout(commerce, cart.id, key())).id, order.id)
        assert.equal(await t.raw.count('cw_orders where cart_id = ?', [cart.id]), 1)
        assert.equal(await t.raw.count('cw_payments where cart_id = ?', [cart.id]), 1)
        assert.equal(payments.authorizations(), 1)
      },
    },
    {
      name: 'ten concurrent completes of one cart with ten keys: one order, one payment, one charge',
      async run(t) {
        const engines = await t.writerEngines()
        const { commerce, payments } = engines[0]!
        payments.setDefault({ delayMs: 20 })
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 1]])
        const orders = await Promise.all(Array.from({ length: 10 }, (_, i) => checkout(engines[i % engines.length]!.commerce, cart.id, key())))
        assert.equal(new Set(orders.map((o) => o.id)).size, 1)
        const rows = await t.raw.rows('select id, cart_id from cw_orders')
        assert.deepEqual(rows.map((r) => [text(r['id']), text(r['cart_id'])]), [[orders[0]!.id, cart.id]])
        const pay = await t.raw.rows('select status, order_id from cw_payments where cart_id = ?', [cart.id])
        assert.deepEqual(pay.map((r) => [text(r['status']), textOrNull(r['order_id'])]), [['authorized', orders[0]!.id]])
        assert.equal(payments.authorizations(), 1)
        assert.equal(num((await t.raw.one('select reserved from cw_inventory_levels where variant_id = ?', [variantId]))['reserved']), 1)
      },
    },
    {
      name: 'ten concurrent completes of one cart with the same key: one order, one payment, one charge',
      async run(t) {
        const engines = await t.writerEngines()
        const { commerce, payments } = engines[0]!
        payments.setDefault({ delayMs: 20 })
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 1]])
        const k = key()
        const orders = await Promise.all(Array.from({ length: 10 }, (_, i) => checkout(engines[i % engines.length]!.commerce, cart.id, k)))
        assert.equal(new Set(orders.map((o) => o.id)).size, 1)
        assert.equal(await t.raw.count('cw_orders where cart_id = ?', [cart.id]), 1)
        assert.equal(await t.raw.count('cw_payments where cart_id = ?', [cart.id]), 1)
        assert.equal(payments.authorizations(), 1)
      },
    },
  ],
}
