import assert from 'node:assert/strict'
import { isCommerceError } from '@cartwright/core'
import { rejection, rejectsWith } from '../check.js'
import { text } from '../raw.js'
import { checkout, key, readyCart, seedVariant } from '../shop.js'
import type { StorageGroup } from '../storage-case.js'

/** A payment row as core writes it, for raw inserts. */
function paymentRow(id: string, cartId: string, idempotencyKey: string, now: string) {
  return {
    id,
    cart_id: cartId,
    order_id: null,
    provider: 'test',
    idempotency_key: idempotencyKey,
    status: 'pending',
    currency: 'USD',
    amount: 100,
    authorized_amount: 0,
    captured_amount: 0,
    refunded_amount: 0,
    kind: 'gateway' as const,
    claim_events: null,
    reference: null,
    failure: null,
    lease_until: null,
    data: null,
    created_at: now,
    updated_at: now,
  }
}

export const idempotencyCases: StorageGroup = {
  group: 'idempotency keys',
  cases: [
    {
      name: 'the database itself refuses a second payment with the same idempotency key (raw insert)',
      async run(t) {
        const { commerce } = await t.engine()
        const k = key()
        await commerce.db.insertInto('cw_payments').values(paymentRow('pay_first', 'cart_a', k, t.clock.iso())).execute()
        await t.raw.refused(
          'insert into cw_payments (id, cart_id, provider, idempotency_key, status, currency, amount, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          ['pay_second', 'cart_b', 'test', k, 'pending', 'USD', 100, t.clock.iso(), t.clock.iso()],
        )
        assert.equal(await t.raw.count('cw_payments where idempotency_key = ?', [k]), 1)
      },
    },
    {
      name: "adapter.isUniqueViolation recognises its driver's error for a duplicate key, and nothing else claims it",
      async run(t) {
        const { commerce } = await t.engine()
        const k = key()
        await commerce.db.insertInto('cw_payments').values(paymentRow('pay_first', 'cart_a', k, t.clock.iso())).execute()
        const error = await rejection(commerce.db.insertInto('cw_payments').values(paymentRow('pay_second', 'cart_b', k, t.clock.iso())).execute())
        assert.equal(t.adapter.isUniqueViolation(error), true, `isUniqueViolation(${String(error)})`)
        assert.equal(t.adapter.isCheckViolation(error), false, 'isCheckViolation')
        assert.equal(t.adapter.isRetryable(error), false, 'a duplicate key is not retryable')
        // A duplicate primary key is a unique violation too.
        const pk = await rejection(commerce.db.insertInto('cw_payments').values(paymentRow('pay_first', 'cart_c', key(), t.clock.iso())).execute())
        assert.equal(t.adapter.isUniqueViolation(pk), true, `isUniqueViolation(${String(pk)}) for a primary key`)
      },
    },
    {
      name: 'duplicate handles, SKUs and location codes surface as CONFLICT through the engine',
      async run(t) {
        const { commerce } = await t.engine()
        await seedVariant(commerce, { handle: 'mug', sku: 'MUG-1' })
        await rejectsWith(commerce.catalog.createProduct({ title: 'Mug', handle: 'mug', variants: [{ sku: 'MUG-2' }] }), 'CONFLICT')
        await rejectsWith(commerce.catalog.createProduct({ title: 'Cup', handle: 'cup', variants: [{ sku: 'MUG-1' }] }), 'CONFLICT')
        await rejectsWith(commerce.inventory.createLocation({ name: 'Again', code: 'main' }), 'CONFLICT')
        assert.equal(await t.raw.count('cw_products'), 1)
        assert.equal(await t.raw.count('cw_variants'), 1)
        assert.equal(await t.raw.count('cw_stock_locations'), 1)
      },
    },
    {
      name: 'one key retried ten times writes one payment row and charges once',
      async run(t) {
        const { commerce, payments } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const cart = await readyCart(commerce, [[variantId, 1]])
        const k = key()
        const ids = new Set<string>()
        for (let i = 0; i < 10; i++) ids.add((await checkout(commerce, cart.id, k)).id)
        assert.equal(ids.size, 1)
        assert.equal(await t.raw.count('cw_payments where idempotency_key = ?', [k]), 1)
        assert.equal(await t.raw.count('cw_orders where cart_id = ?', [cart.id]), 1)
        assert.equal(payments.authorizations(), 1)
      },
    },
    {
      name: 'a key used for one cart is refused for another (CONFLICT) and writes nothing for it',
      async run(t) {
        const { commerce } = await t.engine()
        const { variantId } = await seedVariant(commerce, { stock: 3 })
        const first = await readyCart(commerce, [[variantId, 1]])
        const second = await readyCart(commerce, [[variantId, 1]])
        const k = key()
        await checkout(commerce, first.id, k)
        await rejectsWith(checkout(commerce, second.id, k), 'CONFLICT')
        assert.equal(await t.raw.count('cw_payments where cart_id = ?', [second.id]), 0)
        assert.equal(await t.raw.count('cw_reservations where cart_id = ?', [second.id]), 0)
        assert.equal(text((await t.raw.one('select status from cw_carts where id = ?', [second.id]))['status']), 'open')
      },
    },
    {
      name: 'two carts racing with one key: one payment row, one order, and the loser gets CONFLICT',
      async run(t) {
        const engines = await t.writerEngines()
        const { commerce, payments } = engines[0]!
        payments.setDefault({ delayMs: 10 })
        const { variantId } = await seedVariant(commerce, { stock: 10 })
        const carts = [await readyCart(commerce, [[variantId, 1]]), await readyCart(commerce, [[variantId, 1]])]
        const k = key()
        const results = await Promise.allSettled(carts.map((cart, i) => checkout(engines[i % engines.length]!.commerce, cart.id, k)))
        const won = results.filter((r) => r.status === 'fulfilled')
        const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []))
        assert.equal(won.length, 1, `exactly one checkout wins; errors: ${lost.map(String).join('; ')}`)
        assert.ok(isCommerceError(lost[0], 'CONFLICT'), `the loser gets CONFLICT, got ${String(lost[0])}`)
        assert.equal(await t.raw.count('cw_payments where idempotency_key = ?', [k]), 1)
        assert.equal(await t.raw.count('cw_payments'), 1)
        assert.equal(await t.raw.count('cw_orders'), 1)
        assert.equal(await t.raw.count("cw_reservations where status = 'held'"), 1)
        assert.equal(payments.authorizations(), 1)
      },
    },
  ],
}
