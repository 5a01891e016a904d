import assert from 'node:assert/strict'
import { isCommerceError, type Order } from '@cartwright/core'
import { rejection, sleep } from '../check.js'
import { num, text } from '../raw.js'
import { checkout, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'
import type { StorageFixture } from '../storage-fixture.js'

/** Samples `min(on_hand - reserved)` through the backdoor until stopped: stock must never dip below zero, even mid-race. */
function watchAvailable(t: StorageFixture): { stop(): Promise<number> } {
  let running = true
  let lowest = Number.POSITIVE_INFINITY
  const loop = (async () => {
    while (running) {
      const row = await t.raw.one('select min(on_hand - reserved) as lowest, min(reserved) as reserved from cw_inventory_levels')
      lowest = Math.min(lowest, num(row['lowest']), num(row['reserved']))
      await sleep(1)
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return lowest
    },
  }
}

export const concurrencyCases: StorageGroup = {
  group: 'concurrency',
  cases: [
    {
      name: 'stock 5, 20 concurrent checkouts: 5 orders, 15 OUT_OF_STOCK, available 0 and never below',
      async run(t) {
        const engines = await t.writerEngines()
        const { commerce, payments } = engines[0]!
        payments.setDefault({ delayMs: 2 })
        const { variantId } = await seedVariant(commerce, { stock: 5 })
        const carts = []
        for (let i = 0; i < 20; i++) carts.push(await readyCart(commerce, [[variantId, 1]]))

        const watch = watchAvailable(t)
        const results = await Promise.allSettled(carts.map((cart, i) => checkout(engines[i % engines.length]!.commerce, cart.id)))
        const lowest = await watch.stop()

        const orders = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value as Order] : []))
        const errors = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
        const unexpected = errors.filter((e) => !isCommerceError(e, 'OUT_OF_STOCK'))
        assert.deepEqual(unexpected.map(String), [], 'every loser fails with OUT_OF_STOCK')
        assert.equal(orders.length, 5)
        assert.equal(errors.length, 15)
        assert.ok(lowest >= 0, `available stock dipped to ${lowest} during the race`)

        const level = await t.raw.one('select on_hand, reserved from cw_inventory_levels where variant_id = ?', [variantId])
        assert.deepEqual([num(level['on_hand']), num(level['reserved'])], [5, 5])
        assert.equal(num((await t.raw.one("select sum(quantity) as held from cw_reservations where status = 'held'"))['held']), 5)
        assert.equal(await t.raw.count('cw_orders'), 5)
        assert.equal(await t.raw.count('cw_payments'), 5, 'losers write no payment')
        const numbers = (await t.raw.rows('select number from cw_orders')).map((r) => num(r['number']))
        assert.equal(new Set(numbers).size, 5, 'order numbers are distinct')
        assert.equal(payments.authorizations(), 5, 'losers are never charged')
        assert.equal(await commerce.inventory.available(variantId), 0)
        const stillOpen = await t.raw.count("cw_carts where status = 'open'")
        assert.equal(stillOpen, 15, 'the losers’ carts stay open')
      },
    },
    {
      name: 'the CHECK constraint refuses reserved above on_hand or below zero, and isCheckViolation recognises it',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const id = text((await t.raw.one('select id from cw_inventory_levels where variant_id = ?', [variantId]))['id'])
        await t.raw.refused('update cw_inventory_levels set reserved = on_hand + 1 where id = ?', [id])
        await t.raw.refused('update cw_inventory_levels set reserved = -1 where id = ?', [id])

        const error = await rejection(
          commerce.db
            .updateTable('cw_inventory_levels')
            .set((eb) => ({ reserved: eb('on_hand', '+', 1) }))
            .where('id', '=', id)
            .execute(),
        )
        assert.equal(t.adapter.isCheckViolation(error), true, `isCheckViolation(${String(error)})`)
        assert.equal(t.adapter.isUniqueViolation(error), false, 'isUniqueViolation')
        assert.equal(t.adapter.isRetryable(error), false, 'isRetryable')
        const payment = await rejection(
          commerce.db
            .insertInto('cw_payments')
            .values({
              id: 'pay_over',
              cart_id: 'cart_x',
              order_id: null,
              provider: 'test',
              idempotency_key: 'key-over-captured',
              status: 'captured',
              currency: 'USD',
              amount: 100,
              authorized_amount: 100,
              captured_amount: 101,
              refunded_amount: 0,
              kind: 'gateway' as const,
              claim_events: null,
              reference: null,
              failure: null,
              lease_until: null,
              data: null,
              created_at: t.clock.iso(),
              updated_at: t.clock.iso(),
            })
            .execute(),
        )
        assert.equal(t.adapter.isCheckViolation(payment), true, `captured above authorized: isCheckViolation(${String(payment)})`)

        const level = await t.raw.one('select on_hand, reserved from cw_inventory_levels where id = ?', [id])
        assert.deepEqual([num(level['on_hand']), num(level['reserved'])], [3, 0])
        assert.equal(await t.raw.count('cw_payments'), 0)
      },
    },
    {
      name: 'concurrent addItem calls on one cart lose no update: one line holding the sum',
      async run(t) {
        const engines = await t.writerEngines()
        const { commerce } = engines[0]!
        const { variantId } = await seedVariant(commerce, { stock: 100 })
        const cart = await commerce.carts.create({ currency: 'USD' })
        await Promise.all(Array.from({ length: 12 }, (_, i) => engines[i % engines.length]!.commerce.carts.addItem(cart.id, { variantId, quantity: 1 })))
        const lines = await t.raw.rows('select quantity from cw_cart_lines where cart_id = ?', [cart.id])
        assert.deepEqual(lines.map((r) => num(r['quantity'])), [12])
        assert.equal(num((await t.raw.one('select version from cw_carts where id = ?', [cart.id]))['version']), 12)
      },
    },
    {
      name: 'concurrent stock adjustments lose no update',
      async run(t) {
        const engines = await t.writerEngines()
        const { commerce } = engines[0]!
        const { variantId, locationId } = await seedVariant(commerce, { stock: 10 })
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => engines[i % engines.length]!.commerce.inventory.adjust({ variantId, locationId, delta: i % 4 === 3 ? -1 : 2 })),
        )
        // 15 × +2 and 5 × −1
        assert.equal(num((await t.raw.one('select on_hand from cw_inventory_levels where variant_id = ?', [variantId]))['on_hand']), 10 + 30 - 5)
      },
    },
  ],
}
