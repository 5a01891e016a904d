import assert from 'node:assert/strict'
import { rejection, rejectsWith } from '../check.js'
import { num, text, textOrNull, ts, tsOrNull } from '../raw.js'
import { checkout, key, orderRow, probe, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'
import type { StorageFixture } from '../storage-fixture.js'

async function level(t: StorageFixture, variantId: string): Promise<[onHand: number, reserved: number]> {
  const row = await t.raw.one('select on_hand, reserved from cw_inventory_levels where variant_id = ?', [variantId])
  return [num(row['on_hand']), num(row['reserved'])]
}

export const transactionCases: StorageGroup = {
  group: 'transactions',
  cases: [
    {
      name: 'a transaction whose callback throws leaves none of its writes, and the error reaches the caller unchanged',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 4 })
        const boom = new Error('boom')
        const error = await rejection(
          commerce.db.transaction().execute(async (tx) => {
            await tx.insertInto('cw_stock_locations').values({ id: 'loc_rolled', name: 'Rolled back', code: 'rolled', priority: 0, created_at: t.clock.iso() }).execute()
            await tx.updateTable('cw_inventory_levels').set({ on_hand: 99 }).where('variant_id', '=', variantId).execute()
            await tx.deleteFrom('cw_prices').where('variant_id', '=', variantId).execute()
            throw boom
          }),
        )
        assert.equal(error, boom)
        assert.equal(await t.raw.count('cw_stock_locations where id = ?', ['loc_rolled']), 0)
        assert.deepEqual(await level(t, variantId), [4, 0])
        assert.equal(await t.raw.count('cw_prices where variant_id = ?', [variantId]), 1)
      },
    },
    {
      name: 'a statement refused inside a transaction rolls back the statements before it; the next transaction commits',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 4 })
        const error = await rejection(
          commerce.db.transaction().execute(async (tx) => {
            await tx.insertInto('cw_stock_locations').values({ id: 'loc_first', name: 'First', code: 'first', priority: 0, created_at: t.clock.iso() }).execute()
            await tx.updateTable('cw_inventory_levels').set({ on_hand: 99 }).where('variant_id', '=', variantId).execute()
            // `main` exists: the unique index refuses this one.
            await tx.insertInto('cw_stock_locations').values({ id: 'loc_dup', name: 'Dup', code: 'main', priority: 0, created_at: t.clock.iso() }).execute()
          }),
        )
        assert.ok(t.adapter.isUniqueViolation(error), `isUniqueViolation should recognise: ${String(error)}`)
        assert.equal(await t.raw.count("cw_stock_locations where id in ('loc_first', 'loc_dup')"), 0)
        assert.deepEqual(await level(t, variantId), [4, 0])

        await commerce.db.transaction().execute(async (tx) => {
          await tx.insertInto('cw_stock_locations').values({ id: 'loc_after', name: 'After', code: 'after', priority: 0, created_at: t.clock.iso() }).execute()
        })
        assert.equal(await t.raw.count('cw_stock_locations where id = ?', ['loc_after']), 1)
      },
    },
    {
      name: 'a hook that vetoes inside a cart operation leaves the cart, its lines and the outbox untouched',
      async run(t) {
        const audit = probe('audit', '*')
        const { commerce } = await t.engine({ subscribers: [audit.subscriber] })
        const a = await seedVariant(commerce, { stock: 10 })
        const b = await seedVariant(commerce, { stock: 10 })
        const cart = await commerce.carts.create({ currency: 'USD' })
        const line = (await commerce.carts.addItem(cart.id, { variantId: a.variantId, quantity: 1 })).lines[0]!
        const before = await t.raw.one('select version, updated_at from cw_carts where id = ?', [cart.id])
        const events = await t.raw.count('cw_outbox')
        const deliveries = await t.raw.count('cw_outbox_deliveries')

        const remove = commerce.hooks.hook('cart.beforeAddItem', () => {
          throw new Error('not today')
        })
        t.clock.advance(1000)
        await rejectsWith(commerce.carts.addItem(cart.id, { variantId: b.variantId, quantity: 1 }), 'VETOED')
        await rejectsWith(commerce.carts.updateItem(cart.id, line.id, { quantity: 3 }), 'VETOED')

        const lines = await t.raw.rows('select variant_id, quantity from cw_cart_lines where cart_id = ?', [cart.id])
        assert.deepEqual(
          lines.map((r) => [text(r['variant_id']), num(r['quantity'])]),
          [[a.variantId, 1]],
        )
        const after = await t.raw.one('select version, updated_at from cw_carts where id = ?', [cart.id])
        assert.equal(num(after['version']), num(before['version']))
        assert.equal(ts(after['updated_at']), ts(before['updated_at']))
        assert.equal(await t.raw.count('cw_outbox'), events)
        assert.equal(await t.raw.count('cw_outbox_deliveries'), deliveries)

        remove()
        await commerce.carts.addItem(cart.id, { variantId: b.variantId, quantity: 2 })
        assert.equal(await t.raw.count('cw_cart_lines where cart_id = ?', [cart.id]), 2)
      },
    },
    {
      name: 'a checkout refused for stock writes no payment, reservation or order, and leaves stock as it was',
      async run(t) {
        const { commerce, payments } = await t.engine()
        const a = await seedVariant(commerce, { stock: 5 })
        const b = await seedVariant(commerce, { stock: 1 })
        const cart = await readyCart(commerce, [
          [a.variantId, 2],
          [b.variantId, 1],
        ])
        await commerce.inventory.setStock({ variantId: b.variantId, locationId: b.locationId, onHand: 0 })
        const events = await t.raw.count('cw_outbox')

        await rejectsWith(checkout(commerce, cart.id), 'OUT_OF_STOCK')
        assert.equal(await t.raw.count('cw_payments'), 0)
        assert.equal(await t.raw.count('cw_reservations'), 0)
        assert.equal(await t.raw.count('cw_orders'), 0)
        assert.deepEqual(await level(t, a.variantId), [5, 0])
        assert.deepEqual(await level(t, b.variantId), [0, 0])
        const row = await t.raw.one('select status, checkout from cw_carts where id = ?', [cart.id])
        assert.deepEqual([text(row['status']), textOrNull(row['checkout'])], ['open', null])
        assert.equal(await t.raw.count('cw_outbox'), events)
        assert.equal(payments.calls.length, 0, 'a shopper who loses on stock is never sent to the gateway')

        await commerce.inventory.setStock({ variantId: b.variantId, locationId: b.locationId, onHand: 1 })
        await checkout(commerce, cart.id)
        assert.deepEqual(await level(t, b.variantId), [1, 1])
      },
    },
    {
      name: 'a veto in checkout.beforeComplete reserves nothing and charges nothing',
      async run(t) {
        const { commerce, payments } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 1]])
        const remove = commerce.hooks.hook('checkout.beforeComplete', () => {
          throw new Error('fraud check failed')
        })
        await rejectsWith(checkout(commerce, cart.id), 'VETOED')
        assert.equal(await t.raw.count('cw_payments'), 0)
        assert.equal(await t.raw.count('cw_reservations'), 0)
        assert.deepEqual(await level(t, variantId), [3, 0])
        assert.equal(text((await t.raw.one('select status from cw_carts where id = ?', [cart.id]))['status']), 'open')
        assert.equal(payments.calls.length, 0)
        remove()
      },
    },
    {
      name: 'an order write refused after the gateway authorized leaves no order; the retry with the same key places it, charging once',
      async run(t) {
        const { commerce, payments } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 1]])
        // A fresh database numbers its first order 1001 (counter or sequence): take that number,
        // so the order insert fails after the number was drawn and other rows were written.
        const blocker = orderRow({ id: 'order_blocker', number: 1001, cart_id: 'cart_blocker', email: 'blocker@example.com', at: t.clock.iso() })
        await commerce.db.insertInto('cw_orders').values(blocker).execute()
        const idempotencyKey = key()

        const error = await rejectsWith(checkout(commerce, cart.id, idempotencyKey), 'STORAGE')
        assert.ok(t.adapter.isUniqueViolation(error.cause), `isUniqueViolation should recognise the cause: ${String(error.cause)}`)
        assert.equal(await t.raw.count('cw_orders where cart_id = ?', [cart.id]), 0)
        assert.equal(await t.raw.count('cw_order_lines'), 0)
        if (!t.adapter.capabilities.sequences) {
          // The counter was bumped in the failed transaction: the bump must be gone too.
          assert.equal(num((await t.raw.one("select value from cw_counters where name = 'order_number'"))['value']), 1000)
        }
        const pending = await t.raw.one('select status, order_id, lease_until from cw_payments where cart_id = ?', [cart.id])
        assert.deepEqual([text(pending['status']), textOrNull(pending['order_id'])], ['pending', null])
        assert.ok(tsOrNull(pending['lease_until']), 'the pending payment keeps its lease')
        assert.equal(text((await t.raw.one('select status from cw_carts where id = ?', [cart.id]))['status']), 'completing')
        assert.equal(payments.authorizations(), 1)

        await commerce.db.deleteFrom('cw_orders').where('id', '=', blocker.id).execute()
        t.clock.advance(31_000) // past the 30 s checkout lease
        const order = await checkout(commerce, cart.id, idempotencyKey)
        assert.equal(await t.raw.count('cw_orders where cart_id = ?', [cart.id]), 1)
        const paid = await t.raw.one('select status, order_id from cw_payments where cart_id = ?', [cart.id])
        assert.deepEqual([text(paid['status']), textOrNull(paid['order_id'])], ['authorized', order.id])
        assert.equal(payments.authorizations(), 1, 'the retry reuses the gateway key: one charge')
        assert.equal(textOrNull((await t.raw.one('select order_id from cw_reservations where cart_id = ?', [cart.id]))['order_id']), order.id)
        if (!t.adapter.capabilities.sequences) assert.equal(order.number, 1001)
      },
    },
    {
      name: 'a declined payment commits its compensation: payment declined, stock released, cart reopened',
      async run(t) {
        const { commerce, payments } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 2]])
        payments.script('decline')
        await rejectsWith(checkout(commerce, cart.id), 'PAYMENT_DECLINED')
        const pay = await t.raw.one('select status, failure, lease_until, order_id from cw_payments where cart_id = ?', [cart.id])
        assert.deepEqual([text(pay['status']), textOrNull(pay['failure']), tsOrNull(pay['lease_until']), textOrNull(pay['order_id'])], ['declined', 'card_declined', null, null])
        assert.equal(text((await t.raw.one('select status from cw_reservations where cart_id = ?', [cart.id]))['status']), 'released')
        assert.deepEqual(await level(t, variantId), [3, 0])
        const row = await t.raw.one('select status, checkout from cw_carts where id = ?', [cart.id])
        assert.deepEqual([text(row['status']), textOrNull(row['checkout'])], ['open', null])
        assert.equal(await t.raw.count('cw_orders'), 0)

        const order = await checkout(commerce, cart.id)
        assert.equal(await t.raw.count('cw_payments where cart_id = ?', [cart.id]), 2)
        assert.equal(textOrNull((await t.raw.one("select order_id from cw_payments where status = 'authorized'"))['order_id']), order.id)
        assert.deepEqual(await level(t, variantId), [3, 2])
      },
    },
  ],
}
